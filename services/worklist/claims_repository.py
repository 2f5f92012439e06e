"""SQL of claims, locks and push assignment; every statement is scoped or id-exact."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import func, literal, or_, select, update
from sqlalchemy.orm import Session

from services.domain.roles import READER_ROLES
from services.models import ReaderProfile, ReadingAgreement, User, UserRole, WorklistItem
from services.models._types import UtcDateTime

OPEN = ("UNREAD", "CLAIMED")


def item_in_hospital(
    session: Session, *, tenant_id: uuid.UUID, reader_org_id: uuid.UUID | None, item_id: uuid.UUID
) -> WorklistItem | None:
    """Return an item of the tenant (and of ``reader_org_id`` unless None), or None."""
    stmt = select(WorklistItem).where(
        WorklistItem.id == item_id, WorklistItem.tenant_id == tenant_id
    )
    if reader_org_id is not None:
        stmt = stmt.where(WorklistItem.reader_org_id == reader_org_id)
    return session.scalar(stmt)


def agreement(
    session: Session, *, reader_org_id: uuid.UUID, clinic_org_id: uuid.UUID
) -> ReadingAgreement | None:
    """Return the reading agreement between a hospital and a clinic."""
    return session.scalar(
        select(ReadingAgreement).where(
            ReadingAgreement.reader_org_id == reader_org_id,
            ReadingAgreement.clinic_org_id == clinic_org_id,
        )
    )


def try_claim(  # noqa: PLR0913 - the guard of one atomic UPDATE
    session: Session,
    *,
    tenant_id: uuid.UUID,
    reader_org_id: uuid.UUID,
    item_id: uuid.UUID,
    user_id: uuid.UUID,
    may_take_assigned: bool,
    now: datetime,
    lock_until: datetime,
) -> WorklistItem | None:
    """Atomically take an item of the hospital; one of concurrent callers wins, else None.

    Claimable: unread, lock expired, or already the caller's; pushed to someone else only if
    ``may_take_assigned``. One UPDATE ... RETURNING both checks and loads the item (the
    caller explains a refusal by reading the item afterwards: the slow path only).
    """
    stmt = (
        update(WorklistItem)
        .where(
            WorklistItem.id == item_id,
            WorklistItem.tenant_id == tenant_id,
            WorklistItem.reader_org_id == reader_org_id,
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
            first_claimed_at=func.coalesce(
                WorklistItem.first_claimed_at, literal(now, UtcDateTime())
            ),
            lock_expires_at=lock_until,
            updated_at=now,
        )
        .returning(WorklistItem)
        .execution_options(synchronize_session=False, populate_existing=True)
    )
    if not may_take_assigned:
        stmt = stmt.where(
            or_(WorklistItem.assigned_to_id.is_(None), WorklistItem.assigned_to_id == user_id)
        )
    return session.execute(stmt).scalar_one_or_none()


def move_lock(
    session: Session,
    *,
    item_id: uuid.UUID,
    holder_id: uuid.UUID,
    new_holder_id: uuid.UUID,
    now: datetime,
    lock_until: datetime,
) -> bool:
    """Give the lock of an item held by ``holder_id`` to ``new_holder_id`` (renew if the same)."""
    result = session.execute(
        update(WorklistItem)
        .where(
            WorklistItem.id == item_id,
            WorklistItem.status == "CLAIMED",
            WorklistItem.claimed_by_id == holder_id,
        )
        .values(
            claimed_by_id=new_holder_id,
            lock_expires_at=lock_until,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1  # type: ignore[attr-defined,no-any-return]


def unlock(session: Session, *, item_id: uuid.UUID, holder_id: uuid.UUID, now: datetime) -> bool:
    """Put an item held by ``holder_id`` back to UNREAD; False if it is not held by them."""
    result = session.execute(
        update(WorklistItem)
        .where(
            WorklistItem.id == item_id,
            WorklistItem.status == "CLAIMED",
            WorklistItem.claimed_by_id == holder_id,
        )
        .values(status="UNREAD", claimed_by_id=None, lock_expires_at=None, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1  # type: ignore[attr-defined,no-any-return]


def expired_locks(session: Session, *, now: datetime, limit: int) -> list[WorklistItem]:
    """Return claimed items whose lock ran out, locked for update (others skip them)."""
    stmt = (
        select(WorklistItem)
        .where(WorklistItem.status == "CLAIMED", WorklistItem.lock_expires_at < now)
        .order_by(WorklistItem.lock_expires_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(session.scalars(stmt))


def reader_loads(
    session: Session, *, tenant_id: uuid.UUID, reader_org_id: uuid.UUID
) -> list[tuple[uuid.UUID, str, list[Any], int, int]]:
    """Return (user id, username, subspecialties, open items, capacity) of push readers."""
    load = (
        select(func.count(WorklistItem.id))
        .where(
            WorklistItem.tenant_id == tenant_id,
            WorklistItem.status.in_(OPEN),
            or_(WorklistItem.assigned_to_id == User.id, WorklistItem.claimed_by_id == User.id),
        )
        .correlate(User)
        .scalar_subquery()
    )
    is_reader = (
        select(UserRole.id)
        .where(UserRole.user_id == User.id, UserRole.role.in_([r.value for r in READER_ROLES]))
        .exists()
    )
    stmt = (
        select(
            User.id,
            User.username,
            ReaderProfile.subspecialties,
            load,
            ReaderProfile.max_open_items,
        )
        .join(ReaderProfile, ReaderProfile.user_id == User.id)
        .where(
            User.tenant_id == tenant_id,
            User.organization_id == reader_org_id,
            User.is_active.is_(True),
            ReaderProfile.accepts_push.is_(True),
            is_reader,
        )
        .order_by(User.username)
    )
    return [(a, b, c, d, e) for a, b, c, d, e in session.execute(stmt)]


def reader_of_hospital(
    session: Session,
    *,
    tenant_id: uuid.UUID,
    reader_org_id: uuid.UUID | None,
    user_id: uuid.UUID,
) -> User | None:
    """Return an active reader of the tenant (of the hospital unless None), or None."""
    is_reader = (
        select(UserRole.id)
        .where(UserRole.user_id == User.id, UserRole.role.in_([r.value for r in READER_ROLES]))
        .exists()
    )
    stmt = select(User).where(
        User.id == user_id, User.tenant_id == tenant_id, User.is_active.is_(True), is_reader
    )
    if reader_org_id is not None:
        stmt = stmt.where(User.organization_id == reader_org_id)
    return session.scalar(stmt)


def profile_of(
    session: Session, *, tenant_id: uuid.UUID, user_id: uuid.UUID
) -> ReaderProfile | None:
    """Return a reader's profile."""
    return session.scalar(
        select(ReaderProfile).where(
            ReaderProfile.tenant_id == tenant_id, ReaderProfile.user_id == user_id
        )
    )
