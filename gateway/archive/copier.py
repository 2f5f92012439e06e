"""Copy a study's instances from Orthanc to the object store and prove every copy by checksum.

No database work here: the runner opens short transactions before and after, so a long copy
never holds a lock. Each object is read back after writing (or found already present) and its
SHA-256 compared with the source's; a damaged object is rewritten once, then the study fails.
"""

from __future__ import annotations

import io
import logging
import uuid
from dataclasses import dataclass, field

import pydicom

from gateway.archive.manifest import (
    Entry,
    Manifest,
    instance_key,
    manifest_key,
    parse_manifest,
    sha256_hex,
)
from gateway.orthanc.port import OrthancPort
from services.kit.storage import ObjectIntegrityError, ObjectNotFound, ObjectStore

log = logging.getLogger("radbridge.archive")


class ArchiveMismatch(RuntimeError):
    """An object's checksum still differs from its source after rewriting it."""


@dataclass
class CopyReport:
    """What one run did."""

    manifest: Manifest
    manifest_sha256: str
    uploaded: int = 0
    repaired: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class StudyRef:
    """The study to archive, as the runner read it from the database."""

    study_id: uuid.UUID
    tenant_id: uuid.UUID
    study_instance_uid: str
    orthanc_id: str
    retain_until: str


def _stored_sha(store: ObjectStore, key: str) -> str | None:
    """Return the SHA-256 of what is stored under ``key``; None if absent or failing its check."""
    try:
        return sha256_hex(store.get(key))
    except ObjectNotFound:
        return None
    except ObjectIntegrityError as exc:
        log.warning("archive object %s failed its integrity check: %s", key, exc)
        return None


def _uids(data: bytes) -> tuple[str, str]:
    ds = pydicom.dcmread(io.BytesIO(data), stop_before_pixels=True, force=True)
    return str(ds.get("SOPInstanceUID", "")).strip(), str(ds.get("SeriesInstanceUID", "")).strip()


def _previous(store: ObjectStore, key: str) -> dict[str, Entry]:
    try:
        return {e.key: e for e in parse_manifest(store.get(key)).instances}
    except (ObjectNotFound, ObjectIntegrityError, ValueError, KeyError, TypeError):
        return {}


def copy_study(ref: StudyRef, *, orthanc: OrthancPort, store: ObjectStore) -> CopyReport:
    """Archive every instance of ``ref``; return the verified manifest and what was done."""
    m_key = manifest_key(ref.tenant_id, ref.study_instance_uid)
    previous = _previous(store, m_key)
    entries: list[Entry] = []
    uploaded, repaired = 0, []
    for instance_id in orthanc.get_study(ref.orthanc_id).instance_ids:
        data = orthanc.get_instance_file(instance_id)
        sop_uid, series_uid = _uids(data)
        key = instance_key(ref.tenant_id, ref.study_instance_uid, sop_uid)
        digest = sha256_hex(data)
        found = _stored_sha(store, key)
        if found != digest:
            if found is not None or key in previous:
                repaired.append(key)
                log.warning("archive object %s was damaged or changed; rewriting it", key)
            store.put(key, data, "application/dicom")
            uploaded += 1
            if _stored_sha(store, key) != digest:
                raise ArchiveMismatch(f"{key}: the stored copy does not match its source")
        entries.append(Entry(sop_uid, series_uid, key, len(data), digest))
    # The archive only grows: instances archived earlier stay listed even when Orthanc no
    # longer holds them (retention took the study offline, then a late series came).
    written = {e.key for e in entries}
    entries += [e for k, e in previous.items() if k not in written]
    manifest = Manifest(
        tenant_id=str(ref.tenant_id),
        study_id=str(ref.study_id),
        study_instance_uid=ref.study_instance_uid,
        retain_until=ref.retain_until,
        instances=tuple(entries),
    )
    body = manifest.to_bytes()
    if _stored_sha(store, m_key) != sha256_hex(body):
        store.put(m_key, body, "application/json")
        if _stored_sha(store, m_key) != sha256_hex(body):
            raise ArchiveMismatch(f"{m_key}: the stored manifest does not match what was written")
    return CopyReport(manifest, sha256_hex(body), uploaded, repaired)


def verify_archive(store: ObjectStore, key: str) -> list[str]:
    """Return the keys of a manifest's objects that are missing or fail their SHA-256."""
    try:
        manifest = parse_manifest(store.get(key))
    except (ObjectNotFound, ObjectIntegrityError, ValueError, KeyError, TypeError):
        return [key]
    return [e.key for e in manifest.instances if _stored_sha(store, e.key) != e.sha256]
