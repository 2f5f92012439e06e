"""SQL of re-scoring: a consortium's open items, and items whose due points changed."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from services.models import Study, WorklistItem

OPEN = ("UNREAD", "CLAIMED")


def open_items_of_tenant(
    session: Session, *, tenant_id: uuid.UUID, after: uuid.UUID | None, limit: int
) -> list[WorklistItem]:
    """Return the next ``limit`` open items of a tenant by id, row-locked (waits on holders)."""
    stmt = select(WorklistItem).where(
        WorklistItem.tenant_id == tenant_id, WorklistItem.status.in_(OPEN)
    )
    if after is not None:
        stmt = stmt.where(WorklistItem.id > after)
    return list(session.scalars(stmt.order_by(WorklistItem.id).limit(limit).with_for_update()))


def due_for_rescore_statement(now: datetime, limit: int) -> Select[WorklistItem]:
    """Return the statement of ``due_for_rescore`` (kept apart so its plan can be shown)."""
    rescore_at = WorklistItem.priority_rescore_at
    return (
        select(WorklistItem)
        .where(WorklistItem.status.in_(OPEN), rescore_at <= now)
        .order_by(rescore_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )


def due_for_rescore(session: Session, *, now: datetime, limit: int) -> list[WorklistItem]:
    """Return open items whose due points changed by ``now`` (skip locked).

    One range on ``ix_worklist_rescore``: only the items that crossed a boundary are read,
    not every overdue item each minute.
    """
    return list(session.scalars(due_for_rescore_statement(now, limit)))


def load_studies(session: Session, study_ids: list[uuid.UUID]) -> dict[uuid.UUID, Study]:
    """Return the studies of a batch in one query (scoring reads each of them)."""
    if not study_ids:
        return {}
    return {s.id: s for s in session.scalars(select(Study).where(Study.id.in_(study_ids)))}
