"""SQL of the turnaround figures: one row per item of a period, scoped to a tenant/hospital."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.models import InferenceJob, Organization, Study, User, WorklistItem

# clinic, reader (claimed or assigned), priority, received, AI done, first claim, signed
TurnaroundRow = tuple[
    uuid.UUID,
    uuid.UUID | None,
    int,
    datetime,
    datetime | None,
    datetime | None,
    datetime | None,
]


def turnaround_rows(
    session: Session,
    *,
    tenant_id: uuid.UUID,
    reader_org_id: uuid.UUID | None,
    since: datetime,
    until: datetime,
) -> list[TurnaroundRow]:
    """Return (clinic, reader, priority, received, AI done, first claim, signed) per item."""
    ai_done = (
        select(func.max(InferenceJob.finished_at))
        .where(InferenceJob.study_id == Study.id, InferenceJob.status == "SUCCEEDED")
        .correlate(Study)
        .scalar_subquery()
    )
    stmt = (
        select(
            WorklistItem.clinic_org_id,
            func.coalesce(WorklistItem.claimed_by_id, WorklistItem.assigned_to_id),
            WorklistItem.priority,
            Study.received_at,
            ai_done,
            WorklistItem.first_claimed_at,
            WorklistItem.reported_at,
        )
        .join(Study, Study.id == WorklistItem.study_id)
        .where(
            WorklistItem.tenant_id == tenant_id,
            Study.tenant_id == tenant_id,
            Study.received_at >= since,
            Study.received_at < until,
        )
    )
    if reader_org_id is not None:
        stmt = stmt.where(WorklistItem.reader_org_id == reader_org_id)
    return [(a, b, c, d, e, f, g) for a, b, c, d, e, f, g in session.execute(stmt)]


def hospital_of_tenant(
    session: Session, *, tenant_id: uuid.UUID, org_id: uuid.UUID
) -> Organization | None:
    """Return a hospital of the tenant, or None."""
    return session.scalar(
        select(Organization).where(
            Organization.id == org_id,
            Organization.tenant_id == tenant_id,
            Organization.kind == "hospital",
        )
    )


def names(
    session: Session, *, tenant_id: uuid.UUID, org_ids: set[uuid.UUID], user_ids: set[uuid.UUID]
) -> dict[uuid.UUID, str]:
    """Return display names of the tenant's organizations and users among the given ids."""
    found: dict[uuid.UUID, str] = {}
    if org_ids:
        stmt = select(Organization.id, Organization.name).where(
            Organization.tenant_id == tenant_id, Organization.id.in_(org_ids)
        )
        for ident, name in session.execute(stmt):
            found[ident] = name
    if user_ids:
        users = select(User.id, User.display_name).where(
            User.tenant_id == tenant_id, User.id.in_(user_ids)
        )
        for ident, name in session.execute(users):
            found[ident] = name
    return found
