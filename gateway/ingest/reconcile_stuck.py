"""Find registered studies whose work stopped half-way, and start that work again.

Registration, archiving and AI run in separate transactions and processes; a crash or a lost
message between them leaves a study that nothing will pick up again. Each check here is bounded
by ``stuck_after`` so that work merely in progress is left alone.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from services.contracts.task_names import ARCHIVE_STUDY
from services.inference_job import service as job_service
from services.kit.clock import utc_now
from services.kit.db import enqueue
from services.models import ArchiveRecord, Study
from services.study import service as study_service

_LIMIT = 500


@dataclass
class StuckReport:
    """Registered studies found stuck, and what was re-started."""

    half_registered: list[uuid.UUID] = field(default_factory=list)
    archive_requeued: list[uuid.UUID] = field(default_factory=list)
    ai_jobs_requeued: int = 0
    ai_jobs_failed: int = 0
    ai_status_settled: int = 0


def find_stuck(
    session: Session, *, stuck_after: timedelta, max_attempts: int, act: bool
) -> StuckReport:
    """Report studies stuck past ``stuck_after``; with ``act`` re-enqueue their work."""
    cutoff = utc_now() - stuck_after
    report = StuckReport()
    old = Study.received_at < cutoff
    # RECEIVED is only ever seen inside the registering transaction: a committed one is stuck.
    report.half_registered = list(
        session.scalars(select(Study.id).where(old, Study.status == "RECEIVED").limit(_LIMIT))
    )
    unarchived = (
        select(Study.id)
        .outerjoin(ArchiveRecord, ArchiveRecord.study_id == Study.id)
        .where(
            old,
            Study.orthanc_id.is_not(None),
            or_(
                ArchiveRecord.id.is_(None),
                (ArchiveRecord.status != "ARCHIVED") & (ArchiveRecord.updated_at < cutoff),
            ),
        )
        .limit(_LIMIT)
    )
    report.archive_requeued = list(session.scalars(unarchived))
    if not act:
        return report
    for study_id in report.archive_requeued:
        enqueue(session, ARCHIVE_STUDY, study_id=str(study_id))
    report.ai_jobs_requeued, report.ai_jobs_failed = job_service.sweep_stale(
        session, lease_s=int(stuck_after.total_seconds()), max_attempts=max_attempts
    )
    report.ai_status_settled = study_service.settle_stuck_ai(session)
    return report
