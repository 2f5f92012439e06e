"""Every SQL statement about worklist items."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Select, or_, select, update
from sqlalchemy.orm import Session

from services.models import WorklistItem


def for_reader(tenant_id: uuid.UUID, reader_org_id: uuid.UUID) -> Select[WorklistItem]:
    """Return a SELECT of one reading hospital's items (uses ix_worklist_reader_queue)."""
    return select(WorklistItem).where(
        WorklistItem.tenant_id == tenant_id, WorklistItem.reader_org_id == reader_org_id
    )


def by_study(session: Session, study_id: uuid.UUID) -> WorklistItem | None:
    """Return the item of a study."""
    return session.scalar(select(WorklistItem).where(WorklistItem.study_id == study_id))


def try_claim(
    session: Session,
    *,
    item_id: uuid.UUID,
    user_id: uuid.UUID,
    now: datetime,
    lock_until: datetime,
) -> bool:
    """Atomically take an item that is unread or whose lock ran out; exactly one caller wins."""
    result = session.execute(
        update(WorklistItem)
        .where(
            WorklistItem.id == item_id,
            or_(
                WorklistItem.status == "UNREAD",
                (WorklistItem.status == "CLAIMED") & (WorklistItem.lock_expires_at < now),
                (WorklistItem.status == "CLAIMED") & (WorklistItem.claimed_by_id == user_id),
            ),
        )
        .values(
            status="CLAIMED",
            claimed_by_id=user_id,
            claimed_at=now,
            lock_expires_at=lock_until,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1  # type: ignore[attr-defined,no-any-return]
