"""SQL about AI jobs seen by people (dead letters); always scoped to the caller's tenant."""

from __future__ import annotations

import uuid

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from services.auth.principal import TenantScope
from services.models import InferenceJob, Study


def _scoped(scope: TenantScope) -> Select[InferenceJob, Study]:
    stmt = (
        select(InferenceJob, Study)
        .join(Study, Study.id == InferenceJob.study_id)
        .where(InferenceJob.tenant_id == scope.tenant_id, Study.tenant_id == scope.tenant_id)
    )
    if scope.organization_ids is not None:
        stmt = stmt.where(Study.organization_id.in_(scope.organization_ids))
    return stmt


def failed_jobs(
    session: Session, scope: TenantScope, *, limit: int, model_name: str | None = None
) -> list[tuple[InferenceJob, Study]]:
    """Return the visible FAILED jobs with their studies, most recently failed first."""
    stmt = _scoped(scope).where(InferenceJob.status == "FAILED")
    if model_name:
        stmt = stmt.where(InferenceJob.model_name == model_name)
    stmt = stmt.order_by(InferenceJob.finished_at.desc(), InferenceJob.id).limit(limit)
    return [(job, study) for job, study in session.execute(stmt)]


def get_for_update(
    session: Session, scope: TenantScope, job_id: uuid.UUID
) -> tuple[InferenceJob, Study] | None:
    """Return a visible job and its study, the job row locked; None if absent or not visible."""
    stmt = _scoped(scope).where(InferenceJob.id == job_id).with_for_update(of=InferenceJob)
    row = session.execute(stmt).first()
    return (row[0], row[1]) if row is not None else None
