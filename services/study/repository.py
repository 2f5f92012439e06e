"""Every SQL statement about studies; reads are always scoped to what the caller may see."""

from __future__ import annotations

import uuid

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from services.auth.principal import TenantScope
from services.models import InferenceJob, Series, Study


def scoped(scope: TenantScope) -> Select[Study]:
    """Return a SELECT of the studies visible in ``scope``."""
    stmt = select(Study).where(Study.tenant_id == scope.tenant_id)
    if scope.organization_ids is not None:
        stmt = stmt.where(Study.organization_id.in_(scope.organization_ids))
    return stmt


def get_scoped(session: Session, scope: TenantScope, study_id: uuid.UUID) -> Study | None:
    """Return a visible study by id, or None (also when it exists but is not visible)."""
    return session.scalar(scoped(scope).where(Study.id == study_id))


def get_for_update(session: Session, study_id: uuid.UUID) -> Study | None:
    """Return a study locked for update (unscoped: for workers acting on ids they were given)."""
    return session.scalar(select(Study).where(Study.id == study_id).with_for_update())


def by_uid(session: Session, tenant_id: uuid.UUID, study_instance_uid: str) -> Study | None:
    """Return the tenant's study with this StudyInstanceUID."""
    stmt = select(Study).where(
        Study.tenant_id == tenant_id, Study.study_instance_uid == study_instance_uid
    )
    return session.scalar(stmt.with_for_update())


def list_scoped(
    session: Session, scope: TenantScope, *, limit: int, status: str | None = None
) -> list[Study]:
    """Return visible studies, newest first."""
    stmt = scoped(scope).order_by(Study.received_at.desc(), Study.id).limit(limit)
    if status:
        stmt = stmt.where(Study.status == status)
    return list(session.scalars(stmt))


def series_of(session: Session, study_id: uuid.UUID) -> list[Series]:
    """Return the series of a study."""
    return list(session.scalars(select(Series).where(Series.study_id == study_id)))


def by_ids(session: Session, ids: list[uuid.UUID]) -> list[Study]:
    """Return the studies with these ids (unscoped: ids come from already-scoped rows)."""
    return list(session.scalars(select(Study).where(Study.id.in_(ids)))) if ids else []


def ai_pending_without_live_jobs(session: Session, *, limit: int) -> list[uuid.UUID]:
    """Return ids of studies still AI_PENDING although none of their jobs is queued or running."""
    live = (
        select(InferenceJob.id)
        .where(
            InferenceJob.study_id == Study.id,
            InferenceJob.status.in_(("QUEUED", "RUNNING")),
            InferenceJob.shadow.is_(False),  # shadow runs never hold the readers' AI status
        )
        .exists()
    )
    stmt = select(Study.id).where(Study.ai_status == "AI_PENDING", ~live).limit(limit)
    return list(session.scalars(stmt))
