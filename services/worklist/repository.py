"""Every SQL statement about worklist items."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Row, Select, delete, func, or_, select
from sqlalchemy.orm import Session

from services.models import User, WorklistEvent, WorklistItem
from services.worklist import queue_statement
from services.worklist.queue_statement import QueueFilter

__all__ = ["QueueFilter"]


def for_reader(tenant_id: uuid.UUID, reader_org_id: uuid.UUID) -> Select[WorklistItem]:
    """Return a SELECT of one reading hospital's items (uses ix_worklist_reader_queue)."""
    return select(WorklistItem).where(
        WorklistItem.tenant_id == tenant_id, WorklistItem.reader_org_id == reader_org_id
    )


def display_names(session: Session, user_ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    """Return the display names of some users (claimers, assignees)."""
    rows = session.execute(select(User.id, User.display_name).where(User.id.in_(user_ids)))
    return {row.id: row.display_name for row in rows}


def by_study(session: Session, study_id: uuid.UUID) -> WorklistItem | None:
    """Return the item of a study."""
    return session.scalar(select(WorklistItem).where(WorklistItem.study_id == study_id))


def queue_page(
    session: Session,
    f: QueueFilter,
    *,
    after: tuple[int, datetime, uuid.UUID] | None,
    limit: int,
) -> list[Row[Any]]:
    """Return up to ``limit`` rows in queue order (priority desc, oldest first, id) after a key.

    Rows, not ORM objects: the list is read-only and rows skip the identity map.
    """
    stmt, params = queue_statement.page(f, after=after, limit=limit)
    return list(session.execute(stmt, params))


def queue_page_sql(session: Session, f: QueueFilter, *, limit: int) -> str:
    """Return the first-page SQL of ``f`` with its parameters inlined (for EXPLAIN in the bench)."""
    stmt, params = queue_statement.page(f, after=None, limit=limit)
    bound = stmt.params(**params)
    bind = session.get_bind()
    # Rendered for a driver call without parameters, so "%" stays single.
    return str(bound.compile(bind, compile_kwargs={"literal_binds": True})).replace("%%", "%")


def count_by_status(
    session: Session, *, tenant_id: uuid.UUID, reader_org_id: uuid.UUID, now: datetime
) -> tuple[dict[str, int], int]:
    """Return the hospital's item count per status, and how many open items are overdue."""
    scoped = (WorklistItem.tenant_id == tenant_id, WorklistItem.reader_org_id == reader_org_id)
    rows = session.execute(
        select(WorklistItem.status, func.count()).where(*scoped).group_by(WorklistItem.status)
    ).all()
    overdue = session.scalar(
        select(func.count()).where(
            *scoped,
            WorklistItem.status.in_(("UNREAD", "CLAIMED")),
            WorklistItem.due_at < now,
        )
    )
    return {status: int(count) for status, count in rows}, int(overdue or 0)


def add_event(session: Session, item: WorklistItem, kind: str) -> None:
    """Append a change of ``item`` to the live-update log (same transaction as the change)."""
    session.add(
        WorklistEvent(
            tenant_id=item.tenant_id,
            reader_org_id=item.reader_org_id,
            item_id=item.id,
            kind=kind,
            status=item.status,
            priority=item.priority,
        )
    )


def last_event_id(session: Session) -> int:
    """Return the newest event id (0 for an empty log)."""
    return int(session.scalar(select(func.max(WorklistEvent.id))) or 0)


def events_after(
    session: Session, *, after_id: int, also_ids: Sequence[int], limit: int
) -> list[WorklistEvent]:
    """Return events newer than ``after_id`` plus the listed older ones, in id order."""
    cond: ColumnElement[bool] = WorklistEvent.id > after_id
    if also_ids:
        cond = or_(cond, WorklistEvent.id.in_(list(also_ids)))
    stmt = select(WorklistEvent).where(cond).order_by(WorklistEvent.id).limit(limit)
    return list(session.scalars(stmt))


def prune_events(session: Session, *, older_than: datetime) -> None:
    """Delete log entries nobody needs any more."""
    session.execute(delete(WorklistEvent).where(WorklistEvent.created_at < older_than))


def reader_events_after(
    session: Session,
    *,
    tenant_id: uuid.UUID,
    reader_org_id: uuid.UUID,
    after_id: int,
    limit: int,
) -> list[WorklistEvent]:
    """Return one hospital's logged events newer than ``after_id``, oldest first."""
    stmt = (
        select(WorklistEvent)
        .where(
            WorklistEvent.tenant_id == tenant_id,
            WorklistEvent.reader_org_id == reader_org_id,
            WorklistEvent.id > after_id,
        )
        .order_by(WorklistEvent.id)
        .limit(limit)
    )
    return list(session.scalars(stmt))


def oldest_event_id(session: Session) -> int | None:
    """Return the oldest id still in the log (older ones were pruned), None when empty."""
    value = session.scalar(select(func.min(WorklistEvent.id)))
    return None if value is None else int(value)
