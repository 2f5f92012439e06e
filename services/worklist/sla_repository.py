"""SQL of SLA policies, escalation candidates, notifications and breach counts."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from services.domain.roles import Role
from services.models import (
    Notification,
    ReadingAgreement,
    SlaPolicy,
    User,
    UserRole,
    WorklistItem,
)

OPEN = ("UNREAD", "CLAIMED")


def policies_of(session: Session, agreement_id: uuid.UUID) -> list[SlaPolicy]:
    """Return the time limit overrides of a reading agreement."""
    return list(session.scalars(select(SlaPolicy).where(SlaPolicy.agreement_id == agreement_id)))


def agreement_in_tenant(
    session: Session, *, tenant_id: uuid.UUID, agreement_id: uuid.UUID
) -> ReadingAgreement | None:
    """Return a reading agreement of the tenant, or None."""
    return session.scalar(
        select(ReadingAgreement).where(
            ReadingAgreement.id == agreement_id, ReadingAgreement.tenant_id == tenant_id
        )
    )


def open_items_due_by(session: Session, *, cutoff: datetime, limit: int) -> list[WorklistItem]:
    """Return open items due by ``cutoff`` and not yet breached (row-locked, skip locked)."""
    stmt = (
        select(WorklistItem)
        .where(
            WorklistItem.status.in_(OPEN),
            WorklistItem.due_at <= cutoff,
            WorklistItem.breached_at.is_(None),
        )
        .order_by(WorklistItem.due_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(session.scalars(stmt))


def least_loaded_senior(
    session: Session, *, tenant_id: uuid.UUID, reader_org_id: uuid.UUID
) -> uuid.UUID | None:
    """Return the senior radiologist of the hospital holding the fewest claims."""
    held = (
        select(func.count(WorklistItem.id))
        .where(WorklistItem.claimed_by_id == User.id, WorklistItem.status == "CLAIMED")
        .correlate(User)
        .scalar_subquery()
    )
    stmt = (
        select(User.id)
        .join(UserRole, UserRole.user_id == User.id)
        .where(
            User.tenant_id == tenant_id,
            User.organization_id == reader_org_id,
            User.is_active.is_(True),
            UserRole.role == Role.SENIOR_RADIOLOGIST.value,
        )
        .order_by(held, User.username)
        .limit(1)
    )
    return session.scalar(stmt)


def notifications_for(
    session: Session,
    *,
    tenant_id: uuid.UUID,
    org_id: uuid.UUID,
    user_id: uuid.UUID | None,
    limit: int,
) -> list[Notification]:
    """Return the newest notifications of a reading group and of one of its members."""
    personal: ColumnElement[bool] = Notification.user_id.is_(None)
    if user_id is not None:
        personal = personal | (Notification.user_id == user_id)
    stmt = (
        select(Notification)
        .where(
            Notification.tenant_id == tenant_id,
            Notification.recipient_org_id == org_id,
            personal,
        )
        .order_by(Notification.created_at.desc(), Notification.id)
        .limit(limit)
    )
    return list(session.scalars(stmt))


def breaches_by(
    session: Session,
    *,
    tenant_id: uuid.UUID,
    reader_org_id: uuid.UUID | None,
    since: datetime,
    until: datetime,
    by: str,
) -> list[tuple[uuid.UUID | None, int]]:
    """Return (clinic or reader id, breach count) of items breached in ``[since, until)``."""
    column = (
        WorklistItem.clinic_org_id
        if by == "clinic"
        else func.coalesce(WorklistItem.claimed_by_id, WorklistItem.assigned_to_id)
    )
    stmt = select(column, func.count(WorklistItem.id)).where(
        WorklistItem.tenant_id == tenant_id,
        WorklistItem.breached_at >= since,
        WorklistItem.breached_at < until,
    )
    if reader_org_id is not None:
        stmt = stmt.where(WorklistItem.reader_org_id == reader_org_id)
    grouped = stmt.group_by(column).order_by(column)
    return [(ident, int(count)) for ident, count in session.execute(grouped)]
