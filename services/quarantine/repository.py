"""SQL for quarantine administration; every read is scoped to one tenant."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.models import QuarantineItem

OPEN_STATUSES = ("HELD", "RELEASING", "RELEASE_FAILED", "DELETING")


def list_open(session: Session, tenant_id: uuid.UUID, *, limit: int) -> list[QuarantineItem]:
    """Return the tenant's items still awaiting a decision, newest first."""
    stmt = select(QuarantineItem).where(
        QuarantineItem.tenant_id == tenant_id, QuarantineItem.status.in_(OPEN_STATUSES)
    )
    stmt = stmt.order_by(QuarantineItem.created_at.desc(), QuarantineItem.id).limit(limit)
    return list(session.scalars(stmt))


def get_for_update(
    session: Session, tenant_id: uuid.UUID, item_id: uuid.UUID
) -> QuarantineItem | None:
    """Return one of the tenant's items, locked; None when absent or another tenant's."""
    stmt = select(QuarantineItem).where(
        QuarantineItem.id == item_id, QuarantineItem.tenant_id == tenant_id
    )
    return session.scalar(stmt.with_for_update())


def get_unscoped(session: Session, item_id: uuid.UUID) -> QuarantineItem | None:
    """Return an item locked by id (workers acting on ids they were given)."""
    stmt = select(QuarantineItem).where(QuarantineItem.id == item_id)
    return session.scalar(stmt.with_for_update())
