"""Every SQL statement about worklist items."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Select, delete, func, or_, select
from sqlalchemy.orm import Session

from services.models import WorklistEvent, WorklistItem


def for_reader(tenant_id: uuid.UUID, reader_org_id: uuid.UUID) -> Select[WorklistItem]:
    """Return a SELECT of one reading hospital's items (uses ix_worklist_reader_queue)."""
    return select(WorklistItem).where(
        WorklistItem.tenant_id == tenant_id, WorklistItem.reader_org_id == reader_org_id
    )


def by_study(session: Session, study_id: uuid.UUID) -> WorklistItem | None:
    """Return the item of a study."""
    return session.scalar(select(WorklistItem).where(WorklistItem.study_id == study_id))


@dataclass(frozen=True)
class QueueFilter:
    """The conditions of one worklist page; ``None`` means "any"."""

    tenant_id: uuid.UUID
    reader_org_id: uuid.UUID
    statuses: tuple[str, ...] = ("UNREAD",)
    claimed_by_id: uuid.UUID | None = None
    unread_or_claimed_by: uuid.UUID | None = None
    priority_min: int | None = None
    priority_below: int | None = None
    modality: str | None = None
    body_part: str | None = None
    patient_type: str | None = None
    ai_flag: str | None = None
    clinic_org_id: uuid.UUID | None = None
    due_from: datetime | None = None
    due_before: datetime | None = None
    search: str | None = None
    search_key: str | None = None


def _search(text: str, key: str | None) -> ColumnElement[bool]:
    alternatives = [
        WorklistItem.patient_name.contains(text, autoescape=True),
        WorklistItem.accession_number == text,
        WorklistItem.patient_id == text,
    ]
    if key:
        alternatives += [
            WorklistItem.patient_name_initials.startswith(key, autoescape=True),
            WorklistItem.patient_name_pinyin.startswith(key, autoescape=True),
        ]
    return or_(*alternatives)


def _modality(code: str) -> ColumnElement[bool]:
    # Multi-modality studies are stored as "CT/SR".
    return or_(
        WorklistItem.modality == code,
        WorklistItem.modality.startswith(f"{code}/"),
        WorklistItem.modality.endswith(f"/{code}"),
        WorklistItem.modality.contains(f"/{code}/"),
    )


def _conditions(f: QueueFilter) -> list[ColumnElement[bool]]:
    cond: list[ColumnElement[bool]] = [
        WorklistItem.tenant_id == f.tenant_id,
        WorklistItem.reader_org_id == f.reader_org_id,
    ]
    if f.unread_or_claimed_by is not None:
        cond.append(
            or_(
                WorklistItem.status == "UNREAD",
                (WorklistItem.status == "CLAIMED")
                & (WorklistItem.claimed_by_id == f.unread_or_claimed_by),
            )
        )
    else:
        cond.append(WorklistItem.status.in_(f.statuses))
    column_equals = (
        (WorklistItem.claimed_by_id, f.claimed_by_id),
        (WorklistItem.body_part, f.body_part),
        (WorklistItem.patient_type, f.patient_type),
        (WorklistItem.ai_flag, f.ai_flag),
        (WorklistItem.clinic_org_id, f.clinic_org_id),
    )
    cond += [column == value for column, value in column_equals if value is not None]
    if f.priority_min is not None:
        cond.append(WorklistItem.priority >= f.priority_min)
    if f.priority_below is not None:
        cond.append(WorklistItem.priority < f.priority_below)
    if f.due_from is not None:
        cond.append(WorklistItem.due_at >= f.due_from)
    if f.due_before is not None:
        cond.append(WorklistItem.due_at < f.due_before)
    if f.modality:
        cond.append(_modality(f.modality))
    if f.search:
        cond.append(_search(f.search, f.search_key))
    return cond


def queue_page(
    session: Session,
    f: QueueFilter,
    *,
    after: tuple[int, datetime, uuid.UUID] | None,
    limit: int,
) -> list[WorklistItem]:
    """Return up to ``limit`` items in queue order (priority desc, oldest first, id) after a key."""
    stmt = select(WorklistItem).where(*_conditions(f))
    if after is not None:
        priority, created_at, item_id = after
        stmt = stmt.where(
            WorklistItem.priority <= priority,
            or_(
                WorklistItem.priority < priority,
                (WorklistItem.priority == priority) & (WorklistItem.created_at > created_at),
                (WorklistItem.priority == priority)
                & (WorklistItem.created_at == created_at)
                & (WorklistItem.id > item_id),
            ),
        )
    stmt = stmt.order_by(
        WorklistItem.priority.desc(), WorklistItem.created_at.asc(), WorklistItem.id.asc()
    ).limit(limit)
    return list(session.scalars(stmt))


def queue_page_sql(session: Session, f: QueueFilter, *, limit: int) -> str:
    """Return the first-page SQL of ``f`` with its parameters inlined (for EXPLAIN in the bench)."""
    stmt = (
        select(WorklistItem)
        .where(*_conditions(f))
        .order_by(
            WorklistItem.priority.desc(), WorklistItem.created_at.asc(), WorklistItem.id.asc()
        )
        .limit(limit)
    )
    bind = session.get_bind()
    # Rendered for a driver call without parameters, so "%" stays single.
    return str(stmt.compile(bind, compile_kwargs={"literal_binds": True})).replace("%%", "%")


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
