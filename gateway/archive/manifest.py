"""Archive layout and the checksum manifest of one study.

Objects live under ``{tenant_id}/studies/{study_uid}/{sop_uid}.dcm`` with, beside them,
``manifest.json`` listing every instance's key, size and SHA-256. Keys are built only from our
own ids and validated DICOM UIDs, so no sender-controlled text reaches a storage path.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import asdict, dataclass
from typing import Any

from services.kit.ids import is_dicom_uid

MANIFEST_VERSION = 1


class UnsafeUid(ValueError):
    """A UID that would become part of an object key is not a DICOM UID."""


def _uid(value: str, what: str) -> str:
    if not is_dicom_uid(value):
        raise UnsafeUid(f"{what} {value[:80]!r} is not a valid DICOM UID; not archived")
    return value


def study_prefix(tenant_id: uuid.UUID, study_uid: str) -> str:
    """Return the folder of a study's archive objects."""
    return f"{tenant_id}/studies/{_uid(study_uid, 'StudyInstanceUID')}"


def instance_key(tenant_id: uuid.UUID, study_uid: str, sop_uid: str) -> str:
    """Return the object key of one archived instance."""
    return f"{study_prefix(tenant_id, study_uid)}/{_uid(sop_uid, 'SOPInstanceUID')}.dcm"


def manifest_key(tenant_id: uuid.UUID, study_uid: str) -> str:
    """Return the object key of a study's manifest."""
    return f"{study_prefix(tenant_id, study_uid)}/manifest.json"


def sha256_hex(data: bytes) -> str:
    """Return the lowercase hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class Entry:
    """One archived instance."""

    sop_instance_uid: str
    series_instance_uid: str
    key: str
    size: int
    sha256: str


@dataclass(frozen=True)
class Manifest:
    """Everything needed to check a study's archive without the database."""

    tenant_id: str
    study_id: str
    study_instance_uid: str
    retain_until: str
    instances: tuple[Entry, ...]

    def to_bytes(self) -> bytes:
        """Return the canonical JSON (sorted keys and entries, so re-runs write the same bytes)."""
        body: dict[str, Any] = {
            "version": MANIFEST_VERSION,
            "algorithm": "SHA-256",
            **asdict(self),
            "instances": [asdict(e) for e in sorted(self.instances, key=lambda e: e.key)],
        }
        return json.dumps(body, sort_keys=True, indent=1, ensure_ascii=True).encode()

    @property
    def total_bytes(self) -> int:
        """Return the size of every archived instance together."""
        return sum(e.size for e in self.instances)


def parse_manifest(data: bytes) -> Manifest:
    """Read a manifest written by ``Manifest.to_bytes`` (ValueError if it is not one)."""
    body = json.loads(data)
    if body.get("version") != MANIFEST_VERSION:
        raise ValueError(f"unknown manifest version {body.get('version')!r}")
    return Manifest(
        tenant_id=body["tenant_id"],
        study_id=body["study_id"],
        study_instance_uid=body["study_instance_uid"],
        retain_until=body["retain_until"],
        instances=tuple(Entry(**e) for e in body["instances"]),
    )
