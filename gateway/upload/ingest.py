"""Store a finished upload through the same path as STOW-RS, holding its studies back.

Each instance goes through ``gateway.dicomweb.stow.store_instances`` (validation, patient
namespacing, quarantine, ownership by the uploader's organization). Before the first instance
of a study reaches Orthanc, the study is held in the upload's batch in its own committed
transaction, so the change-feed watcher never registers half of it; each instance is then
stored and committed on its own, so a crash loses at most the instance in flight, and running
the same upload again is a no-op (Orthanc answers AlreadyStored by SOP Instance UID).
"""

from __future__ import annotations

import io
import logging
import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

import pydicom
from pydicom.errors import InvalidDicomError
from sqlalchemy.orm import Session

from gateway.dicomweb.dicom_json import OUT_OF_RESOURCES
from gateway.dicomweb.stow import declared_from, store_instances
from gateway.orthanc.port import OrthancPort
from gateway.upload.bundle import (
    ArchiveTooLarge,
    UnsafeArchive,
    UnsupportedUpload,
    instances_in,
    is_dicomdir,
)
from gateway.upload.store import RECEIVED, REJECTED, STORED, UploadInfo, UploadStore
from services.auth.principal import Principal
from services.domain.declared_order import DeclaredOrder
from services.kit.errors import ServiceUnavailable
from services.kit.ids import is_dicom_uid
from services.kit.storage import ObjectStore
from services.study import upload_batch

log = logging.getLogger("radbridge.upload")
Scope = Callable[[], AbstractContextManager[Session]]


@dataclass
class _Tally:
    stored: int = 0
    failed: list[dict[str, Any]] = field(default_factory=list)
    studies: set[str] = field(default_factory=set)
    store_unavailable: bool = False


@dataclass(frozen=True)
class Ingestor:
    """What storing an upload needs: Orthanc, the object store, a session scope."""

    orthanc: OrthancPort
    objects: ObjectStore
    scope: Scope
    base_url: str


def batch_key(info: UploadInfo) -> str:
    """Return the batch an upload belongs to: declared, or a batch of its own."""
    return info.metadata.get("batch") or f"upload-{info.id}"


def file_key(info: UploadInfo) -> str:
    """Return the name the file is counted under in its batch (re-sent files count once)."""
    return (info.metadata.get("relativePath") or info.metadata.get("filename") or info.id)[:300]


def declared_of(metadata: dict[str, str]) -> DeclaredOrder | None:
    """Return the urgency / patient type the upload's metadata declares, or 422 if unknown."""
    return declared_from(metadata.get("urgency"), metadata.get("patient-type"))


def _study_uid(data: bytes) -> str:
    try:
        ds = pydicom.dcmread(
            io.BytesIO(data), stop_before_pixels=True, specific_tags=["StudyInstanceUID"]
        )
        uid = str(ds.get("StudyInstanceUID", "")).strip()
    except (InvalidDicomError, EOFError, ValueError, OSError, KeyError, TypeError):
        return ""
    return uid if is_dicom_uid(uid) else ""


def _store_one(
    ingestor: Ingestor,
    principal: Principal,
    batch_id: uuid.UUID,
    name: str,
    data: bytes,
    declared: DeclaredOrder | None,
) -> _Tally:
    tally = _Tally()
    uid = _study_uid(data)
    if uid:
        with ingestor.scope() as session:
            upload_batch.hold_study(session, batch_id=batch_id, study_instance_uid=uid)
    with ingestor.scope() as session:
        outcome = store_instances(
            session,
            orthanc=ingestor.orthanc,
            store=ingestor.objects,
            principal=principal,
            parts=[data],
            base_url=ingestor.base_url,
            source="upload",
            declared=declared,
        )
        for study_uid, orthanc_id in outcome.orthanc_studies.items():
            upload_batch.note_stored(
                session,
                batch_id=batch_id,
                study_instance_uid=study_uid,
                orthanc_study_id=orthanc_id,
            )
            tally.studies.add(study_uid)
    tally.stored = len(outcome.stored)
    for failed in outcome.failed:
        tally.store_unavailable |= failed.failure_reason == OUT_OF_RESOURCES
        tally.failed.append(
            {"file": name, "sop_instance_uid": failed.sop_instance_uid, "reason": failed.comment}
        )
    return tally


def _store_all(
    ingestor: Ingestor, store: UploadStore, info: UploadInfo, principal: Principal
) -> _Tally:
    with ingestor.scope() as session:
        batch = upload_batch.get(
            session, organization_id=uuid.UUID(info.organization_id), key=batch_key(info)
        )
        assert batch is not None, "the batch is opened when the upload is created"
        batch_id = batch.id
    total = _Tally()
    declared = declared_of(info.metadata)
    for name, data in instances_in(store.data_path(info)):
        if is_dicomdir(data):
            continue  # the index of a DICOMDIR bundle, not an image
        one = _store_one(ingestor, principal, batch_id, name, data, declared)
        total.stored += one.stored
        total.failed += one.failed
        total.studies |= one.studies
        total.store_unavailable |= one.store_unavailable
    if not total.store_unavailable:
        count_in_batch(ingestor, info, total.stored)
    return total


def count_in_batch(ingestor: Ingestor, info: UploadInfo, instances: int) -> None:
    """Count the file as settled in its batch (stored, or refused as a whole)."""
    with ingestor.scope() as session:
        batch = upload_batch.get(
            session, organization_id=uuid.UUID(info.organization_id), key=batch_key(info)
        )
        assert batch is not None
        upload_batch.record_file(
            session, batch=batch, file_key=file_key(info), upload_id=info.id, instances=instances
        )


def store_upload(
    ingestor: Ingestor, store: UploadStore, upload_id: str, principal: Principal
) -> UploadInfo:
    """Store a fully received upload once; return it with its outcome.

    Raises the bundle's error (413/400/422) when the upload is refused as a whole, and
    ``ServiceUnavailable`` when Orthanc could not take every instance (retry later).
    """
    with store.locked(upload_id):
        info = store.load(upload_id)
        assert info is not None
        if info.state != RECEIVED:
            return info
        try:
            tally = _store_all(ingestor, store, info, principal)
        except (ArchiveTooLarge, UnsafeArchive, UnsupportedUpload) as exc:
            count_in_batch(ingestor, info, 0)  # its fate is decided: the batch need not wait
            info.state, info.outcome = REJECTED, {"code": exc.code, "reason": exc.message}
            store.save(info)
            store.data_path(info).unlink(missing_ok=True)
            log.warning("upload %s refused: %s", info.id, exc.code)
            raise
        if tally.store_unavailable:
            raise ServiceUnavailable("The image store is unavailable; retry in a minute.")
        info.state = STORED
        info.outcome = {
            "stored": tally.stored,
            "failed": tally.failed,
            "studies": sorted(tally.studies),
        }
        store.save(info)
        store.data_path(info).unlink(missing_ok=True)  # the instances live in Orthanc now
        log.info(
            "upload %s stored: %d instances, %d refused", info.id, tally.stored, len(tally.failed)
        )
        return info
