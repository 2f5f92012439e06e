"""AI jobs: created idempotently per study + model version, leased while running, swept when stuck.

A job's lifecycle: QUEUED -> RUNNING -> SUCCEEDED | FAILED. RUNNING holds a lease; a job whose
lease expired (worker killed) goes back to the queue through the sweeper, up to max attempts.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from services.contracts.task_names import QUEUE_INFERENCE, RUN_INFERENCE
from services.domain.model_matching import JobPlan
from services.kit.clock import utc_now
from services.kit.db import enqueue
from services.models import InferenceJob, Study


@dataclass(frozen=True)
class ClaimedJob:
    """What a worker needs to run a job; read while the lease is taken."""

    job_id: uuid.UUID
    study_id: uuid.UUID
    tenant_id: uuid.UUID
    model_name: str
    model_version: str
    attempt: int
    input_series_uid: str | None = None  # chosen by routing; None: pick by modality
    shadow: bool = False


def create_jobs(session: Session, *, study: Study, plans: Sequence[JobPlan]) -> list[InferenceJob]:
    """Create one QUEUED job per planned model version not run yet; queue it after commit.

    Each job runs, retries and fails on its own, on the series routing chose for it.
    """
    existing = {
        (j.model_name, j.model_version)
        for j in session.scalars(select(InferenceJob).where(InferenceJob.study_id == study.id))
    }
    created = []
    for plan in plans:
        if (plan.name, plan.version) in existing:
            continue
        job = InferenceJob(
            tenant_id=study.tenant_id,
            study_id=study.id,
            model_name=plan.name,
            model_version=plan.version,
            status="QUEUED",
            input_series_uid=plan.series_instance_uid,
            input_modality=plan.modality or None,
            shadow=plan.shadow,
        )
        session.add(job)
        session.flush()
        enqueue(session, RUN_INFERENCE, queue=QUEUE_INFERENCE, job_id=str(job.id))
        created.append(job)
    return created


def claim(session: Session, *, job_id: uuid.UUID, lease_s: int) -> ClaimedJob | None:
    """Take the lease on a QUEUED job (or a RUNNING one whose lease expired); None if not ours."""
    now = utc_now()
    result = session.execute(
        update(InferenceJob)
        .where(
            InferenceJob.id == job_id,
            or_(
                InferenceJob.status == "QUEUED",
                (InferenceJob.status == "RUNNING") & (InferenceJob.lease_until < now),
            ),
        )
        .values(
            status="RUNNING",
            attempts=InferenceJob.attempts + 1,
            lease_until=now + timedelta(seconds=lease_s),
            started_at=now,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return None
    job = session.get(InferenceJob, job_id, populate_existing=True)
    assert job is not None
    return ClaimedJob(
        job_id=job.id,
        study_id=job.study_id,
        tenant_id=job.tenant_id,
        model_name=job.model_name,
        model_version=job.model_version,
        attempt=job.attempts,
        input_series_uid=job.input_series_uid,
        shadow=job.shadow,
    )


def get(session: Session, job_id: uuid.UUID) -> InferenceJob | None:
    """Return a job by id."""
    return session.get(InferenceJob, job_id)


def jobs_of_study(session: Session, study_id: uuid.UUID) -> list[InferenceJob]:
    """Return every job of a study."""
    return list(session.scalars(select(InferenceJob).where(InferenceJob.study_id == study_id)))


def mark_succeeded(
    *,
    job: InferenceJob,
    infer_ms: int,
    input_series_uid: str | None,
    result_sr_uid: str | None = None,
    input_stats: dict[str, float] | None = None,
) -> None:
    """Record a finished run (and the SOP Instance UID of the SR it wrote back, if any).

    ``input_stats`` (mean, std, percentiles of the tensor sent) feed the drift monitor.
    """
    job.status = "SUCCEEDED"
    job.finished_at = utc_now()
    job.lease_until = None
    job.error = None
    job.infer_ms = infer_ms
    job.input_series_uid = input_series_uid
    job.result_sr_uid = result_sr_uid
    if input_stats is not None:
        job.input_stats = input_stats


def mark_failed(*, job: InferenceJob, reason: str) -> None:
    """Record a permanent failure (bad input, model contract broken, attempts exhausted)."""
    job.status = "FAILED"
    job.finished_at = utc_now()
    job.lease_until = None
    job.error = reason[:2000]


def release_for_retry(*, job: InferenceJob, reason: str) -> None:
    """Give a job back to the queue after a transient failure (Triton or Orthanc down)."""
    job.status = "QUEUED"
    job.lease_until = None
    job.error = reason[:2000]


def release_unstarted(*, job: InferenceJob, reason: str) -> None:
    """Give back a job that never reached the model server (circuit open): no attempt is spent."""
    release_for_retry(job=job, reason=reason)
    job.attempts = max(0, job.attempts - 1)


def requeue_failed(session: Session, *, job: InferenceJob) -> None:
    """Put a FAILED job back in the queue with a fresh attempt budget; run it after commit."""
    job.status = "QUEUED"
    job.attempts = 0
    job.lease_until = None
    job.finished_at = None
    job.updated_at = utc_now()
    enqueue(session, RUN_INFERENCE, queue=QUEUE_INFERENCE, job_id=str(job.id))


def sweep_stale(session: Session, *, lease_s: int, max_attempts: int) -> tuple[int, int]:
    """Re-queue jobs stuck QUEUED or past their lease; fail those out of attempts.

    Returns the number re-queued and the number failed.
    """
    now = utc_now()
    stale_queued = (InferenceJob.status == "QUEUED") & (
        InferenceJob.updated_at < now - timedelta(seconds=lease_s)
    )
    expired = (InferenceJob.status == "RUNNING") & (InferenceJob.lease_until < now)
    requeued = failed = 0
    stmt = select(InferenceJob).where(or_(stale_queued, expired)).with_for_update(skip_locked=True)
    for job in session.scalars(stmt.limit(500)):
        if job.attempts >= max_attempts:
            mark_failed(job=job, reason=f"gave up after {job.attempts} attempts")
            failed += 1
            continue
        job.status = "QUEUED"
        job.lease_until = None
        job.updated_at = now
        enqueue(session, RUN_INFERENCE, queue=QUEUE_INFERENCE, job_id=str(job.id))
        requeued += 1
    return requeued, failed
