"""Upload batches: a multi-file upload becomes visible to readers only once it is whole.

The gateway opens a batch when the first file of it is created, holds every study it touches
(before the first instance reaches Orthanc), counts the files that were fully stored, and
finalizes the batch when all the declared files are in. Registration skips held studies; the
watcher registers them once their batch is final.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import exists, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.kit.clock import utc_now
from services.kit.errors import Conflict
from services.models import UploadBatch, UploadBatchFile, UploadBatchStudy

OPEN, FINALIZED, ABANDONED = "OPEN", "FINALIZED", "ABANDONED"


def get(session: Session, *, organization_id: uuid.UUID, key: str) -> UploadBatch | None:
    """Return the organization's batch called ``key``, if there is one."""
    return session.scalar(
        select(UploadBatch).where(
            UploadBatch.organization_id == organization_id, UploadBatch.key == key
        )
    )


def open_batch(
    session: Session,
    *,
    tenant_id: uuid.UUID,
    organization_id: uuid.UUID,
    key: str,
    expected_files: int,
    created_by: str,
) -> UploadBatch:
    """Return the open batch ``key`` of the organization, creating it on first use."""
    batch = get(session, organization_id=organization_id, key=key)
    if batch is None:
        try:
            with session.begin_nested():
                batch = UploadBatch(
                    tenant_id=tenant_id,
                    organization_id=organization_id,
                    key=key,
                    expected_files=expected_files,
                    created_by=created_by,
                )
                session.add(batch)
        except IntegrityError:  # created by a parallel request meanwhile
            batch = get(session, organization_id=organization_id, key=key)
            assert batch is not None
    if batch.expected_files != expected_files:
        raise Conflict(
            f"Batch {key!r} was declared with {batch.expected_files} files, not "
            f"{expected_files}; use a new batch id for a different set of files."
        )
    if batch.status != OPEN:
        raise Conflict(
            f"Batch {key!r} is closed ({batch.status.lower()}); use a new batch id for new files."
        )
    return batch


def hold_study(session: Session, *, batch_id: uuid.UUID, study_instance_uid: str) -> None:
    """Hold ``study_instance_uid`` back from registration until the batch is finalized."""
    if session.get(UploadBatchStudy, (batch_id, study_instance_uid)) is not None:
        return
    try:
        with session.begin_nested():
            session.add(UploadBatchStudy(batch_id=batch_id, study_instance_uid=study_instance_uid))
    except IntegrityError:
        pass  # held by a parallel request meanwhile


def note_stored(
    session: Session, *, batch_id: uuid.UUID, study_instance_uid: str, orthanc_study_id: str
) -> None:
    """Remember which Orthanc study holds the batch's instances of a study."""
    link = session.get(UploadBatchStudy, (batch_id, study_instance_uid))
    if link is not None and link.orthanc_study_id != orthanc_study_id:
        link.orthanc_study_id = orthanc_study_id


def record_file(
    session: Session, *, batch: UploadBatch, file_key: str, upload_id: str, instances: int
) -> None:
    """Count one file of the batch as stored; finalize the batch when all files are in.

    Files of one batch are sent in parallel: the batch row is locked first, so the last two
    files cannot each count one short of the total (READ COMMITTED) and leave the batch open.
    """
    session.refresh(batch, with_for_update=True)
    if session.get(UploadBatchFile, (batch.id, file_key)) is None:
        session.add(
            UploadBatchFile(
                batch_id=batch.id, file_key=file_key, upload_id=upload_id, instance_count=instances
            )
        )
        session.flush()
    if batch.status == OPEN and received_files(session, batch.id) >= batch.expected_files:
        batch.status = FINALIZED
        batch.finalized_at = utc_now()


def received_files(session: Session, batch_id: uuid.UUID) -> int:
    """Return how many files of the batch were stored whole."""
    count = session.scalar(
        select(func.count())
        .select_from(UploadBatchFile)
        .where(UploadBatchFile.batch_id == batch_id)
    )
    return int(count or 0)


def studies_of(session: Session, batch_id: uuid.UUID) -> list[str]:
    """Return the StudyInstanceUIDs the batch carries."""
    return list(
        session.scalars(
            select(UploadBatchStudy.study_instance_uid)
            .where(UploadBatchStudy.batch_id == batch_id)
            .order_by(UploadBatchStudy.study_instance_uid)
        )
    )


def is_held(session: Session, study_instance_uid: str) -> bool:
    """Return whether an open batch still holds the study (part of it is still in transit)."""
    held = session.scalar(
        select(UploadBatchStudy.batch_id)
        .join(UploadBatch, UploadBatch.id == UploadBatchStudy.batch_id)
        .where(
            UploadBatchStudy.study_instance_uid == study_instance_uid,
            UploadBatch.status == OPEN,
        )
        .limit(1)
    )
    return held is not None


def to_release(session: Session, limit: int = 100) -> list[UploadBatchStudy]:
    """Return studies of finalized batches that were not registered yet."""
    return list(
        session.scalars(
            select(UploadBatchStudy)
            .join(UploadBatch, UploadBatch.id == UploadBatchStudy.batch_id)
            .where(
                UploadBatch.status == FINALIZED,
                UploadBatchStudy.released_at.is_(None),
                UploadBatchStudy.orthanc_study_id != "",
            )
            .limit(limit)
        )
    )


def mark_released(link: UploadBatchStudy) -> None:
    """Note that a held study was handed to registration."""
    link.released_at = utc_now()


def stale(session: Session, *, idle_since: datetime, limit: int = 100) -> list[UploadBatch]:
    """Return open batches that received no file since ``idle_since``."""
    recent_file = exists().where(
        UploadBatchFile.batch_id == UploadBatch.id, UploadBatchFile.created_at >= idle_since
    )
    return list(
        session.scalars(
            select(UploadBatch)
            .where(
                UploadBatch.status == OPEN,
                UploadBatch.created_at < idle_since,
                ~recent_file,
            )
            .limit(limit)
        )
    )


def abandon(session: Session, batch: UploadBatch) -> list[UploadBatchStudy]:
    """Close a batch that will not complete; return its studies that reached Orthanc."""
    batch.status = ABANDONED
    batch.finalized_at = utc_now()
    return list(
        session.scalars(
            select(UploadBatchStudy).where(
                UploadBatchStudy.batch_id == batch.id, UploadBatchStudy.orthanc_study_id != ""
            )
        )
    )
