"""Dead letters: AI jobs that failed for good, listed for consortium admins and replayable.

A replay gives the job a fresh attempt budget, puts the study back to AI_PENDING and sends the
task after commit; the job keeps its id, so the findings and the SR it writes stay idempotent.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from services.audit import service as audit
from services.auth.principal import Principal, TenantScope
from services.inference_job import repository
from services.inference_job import service as job_service
from services.kit.errors import Conflict, NotFound
from services.models import InferenceJob
from services.study import service as study_service


class JobNotFound(NotFound):
    """No such AI job among those the caller may see (existence is not revealed)."""

    code = "job_not_found"


class JobNotReplayable(Conflict):
    """Only a job that failed for good can be replayed."""

    code = "job_not_replayable"


@dataclass(frozen=True)
class DeadLetter:
    """A failed job as an admin sees it (ids and codes, no patient data)."""

    job_id: uuid.UUID
    study_id: uuid.UUID
    study_instance_uid: str
    model_name: str
    model_version: str
    error: str
    attempts: int
    failed_at: datetime | None


def list_dead_letters(
    session: Session, *, scope: TenantScope, limit: int, model_name: str | None = None
) -> list[DeadLetter]:
    """Return the caller's failed jobs, most recently failed first."""
    return [
        DeadLetter(
            job_id=job.id,
            study_id=study.id,
            study_instance_uid=study.study_instance_uid,
            model_name=job.model_name,
            model_version=job.model_version,
            error=job.error or "",
            attempts=job.attempts,
            failed_at=job.finished_at,
        )
        for job, study in repository.failed_jobs(session, scope, limit=limit, model_name=model_name)
    ]


def replay(
    session: Session, *, scope: TenantScope, principal: Principal, job_id: uuid.UUID
) -> InferenceJob:
    """Queue a failed job again (study back to AI_PENDING), audited; the task goes after commit.

    Raises ``JobNotFound`` for a job the caller cannot see (audited as denied) and
    ``JobNotReplayable`` for a job that has not failed.
    """
    found = repository.get_for_update(session, scope, job_id)
    if found is None:
        raise audit.refused(
            session,
            principal=principal,
            action="inference_job.replay",
            object_type="inference_job",
            object_id=job_id,
            error=JobNotFound("No such AI job, or it belongs to a consortium you cannot see."),
        )
    job, study = found
    if job.status != "FAILED":
        raise JobNotReplayable(
            f"Only failed AI jobs can be replayed; this one is {job.status}.", status=job.status
        )
    previous = {"error": (job.error or "")[:500], "attempts": job.attempts}
    job_service.requeue_failed(session, job=job)
    session.flush()
    study_service.settle_ai_status(session, study_id=study.id)
    audit.record(
        session,
        actor=principal.actor,
        action="inference_job.replay",
        object_type="inference_job",
        object_id=job.id,
        tenant_id=job.tenant_id,
        study_id=study.id,
        detail={"model": job.model_name, "version": job.model_version, "previous": previous},
    )
    return job
