"""The manifest that travels with an export: pseudonymous ids, files, checksums, what was held.

It leaves the consortium with the data, so it holds only de-identified values: pseudonyms,
remapped UIDs, SOP classes, sizes and SHA-256 digests. The mapping back to patients is the
consortium's key, never written anywhere.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

MANIFEST_NAME = "manifest.json"
MANIFEST_VERSION = 1


@dataclass(frozen=True)
class ExportedFile:
    """One de-identified instance written to the destination."""

    path: str  # relative to the export's root
    patient_pseudonym: str
    study_instance_uid: str
    series_instance_uid: str
    sop_instance_uid: str
    sop_class_uid: str
    size: int
    sha256: str
    burned_in_allowed: str = ""  # the risk an administrator accepted with --allow-burned-in


@dataclass(frozen=True)
class BlockedInstance:
    """An instance held back, and why."""

    patient_pseudonym: str
    study_instance_uid: str
    sop_instance_uid: str
    sop_class_uid: str
    reason: str


@dataclass
class ExportManifest:
    """Everything a recipient needs to check the export without any of our systems."""

    export_id: str
    created_at: str
    profile: dict[str, Any]
    files: list[ExportedFile] = field(default_factory=list)
    blocked: list[BlockedInstance] = field(default_factory=list)

    def to_bytes(self) -> bytes:
        """Return the canonical JSON (sorted, so the same export gives the same bytes)."""
        studies = sorted({(f.patient_pseudonym, f.study_instance_uid) for f in self.files})
        body = {
            "version": MANIFEST_VERSION,
            "export_id": self.export_id,
            "created_at": self.created_at,
            "profile": self.profile,
            "algorithm": "SHA-256",
            "counts": {
                "patients": len({p for p, _ in studies}),
                "studies": len(studies),
                "files": len(self.files),
                "blocked": len(self.blocked),
                "bytes": sum(f.size for f in self.files),
            },
            "files": [asdict(f) for f in sorted(self.files, key=lambda f: f.path)],
            "blocked": [
                asdict(b)
                for b in sorted(
                    self.blocked, key=lambda b: (b.study_instance_uid, b.sop_instance_uid)
                )
            ],
        }
        return json.dumps(body, indent=1, sort_keys=True, ensure_ascii=True).encode("ascii")


def parse_manifest(data: bytes) -> ExportManifest:
    """Read a manifest written by ``ExportManifest.to_bytes`` (ValueError if it is not one)."""
    body = json.loads(data)
    if body.get("version") != MANIFEST_VERSION:
        raise ValueError(f"unknown export manifest version {body.get('version')!r}")
    return ExportManifest(
        export_id=body["export_id"],
        created_at=body["created_at"],
        profile=body["profile"],
        files=[ExportedFile(**f) for f in body["files"]],
        blocked=[BlockedInstance(**b) for b in body["blocked"]],
    )
