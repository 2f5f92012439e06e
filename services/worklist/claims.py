"""Claims and locks: one reader at a time, for a configurable time, renewed while working.

A claim locks an item for the reading agreement's ``lock_minutes``. The holder renews it while
working; it ends on unclaim, on signing (``service.mark_reported``), or when the beat task
``worklist.release_expired_locks`` finds it ran out. A senior radiologist may take over another
reader's lock; the takeover is audited and the previous holder notified.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from services.audit import service as audit
from services.auth import access_cache
from services.auth.principal import Principal
from services.domain.roles import Role
from services.domain.study_status import StudyStatus
from services.kit.clock import utc_now
from services.models import Study, WorklistItem
from services.study import transitions
from services.worklist import claims_repository, live, notifications
from services.worklist.exceptions import (
    AlreadyClaimed,
    AlreadyReported,
    AssignedToAnother,
    NotClaimedByYou,
    NothingToTakeOver,
    WorklistItemNotFound,
)

DEFAULT_LOCK_MINUTES = 30
DEFAULT_LOCK = timedelta(minutes=DEFAULT_LOCK_MINUTES)
LOCK_TIMEOUT_ACTOR = "system:lock-timeout"


def hospital_item(
    session: Session, *, principal: Principal, item_id: uuid.UUID, any_hospital: bool = False
) -> WorklistItem:
    """Return an item of the caller's hospital (of the tenant if ``any_hospital``), else 404."""
    item = None
    if principal.tenant_id is not None and principal.organization_id is not None:
        item = claims_repository.item_in_hospital(
            session,
            tenant_id=principal.tenant_id,
            reader_org_id=None if any_hospital else principal.organization_id,
            item_id=item_id,
        )
    if item is None:
        raise WorklistItemNotFound("No such worklist item on your hospital's worklist.")
    return item


def lock_time(session: Session, item: WorklistItem) -> timedelta:
    """Return how long a claim on ``item`` lasts (its reading agreement's setting).

    Cached while the access epoch holds: the epoch triggers watch ``reading_agreement``.
    """

    def load() -> int:
        agreement = claims_repository.agreement(
            session, reader_org_id=item.reader_org_id, clinic_org_id=item.clinic_org_id
        )
        return agreement.lock_minutes if agreement else DEFAULT_LOCK_MINUTES

    key = (item.reader_org_id, item.clinic_org_id)
    return timedelta(minutes=access_cache.cached(session, access_cache.LOCK_MINUTES, key, load))


def _user(principal: Principal) -> uuid.UUID:
    if principal.user_id is None:
        raise NotClaimedByYou("Only a signed-in radiologist can hold a claim.")
    return principal.user_id


def _study_back_to_unread(session: Session, item: WorklistItem, *, actor: str) -> None:
    study = session.get(Study, item.study_id, with_for_update=True)
    if study is not None and study.status == StudyStatus.CLAIMED.value:
        transitions.move(session, study, StudyStatus.UNREAD, actor=actor)


def claim(session: Session, *, principal: Principal, item_id: uuid.UUID) -> WorklistItem:
    """Lock an item for the calling radiologist; exactly one of concurrent callers wins.

    The fast path is one guarded UPDATE ... RETURNING with a provisional lock time, corrected
    in the same transaction when the agreement's lock time differs (the row stays locked until
    commit, so nobody sees the provisional value). A refusal reads the item to say why.
    """
    if (
        principal.user_id is None
        or principal.tenant_id is None
        or principal.organization_id is None
    ):
        hospital_item(session, principal=principal, item_id=item_id)
        raise NotClaimedByYou("Only a signed-in radiologist can hold a claim.")
    now = utc_now()
    item = claims_repository.try_claim(
        session,
        tenant_id=principal.tenant_id,
        reader_org_id=principal.organization_id,
        item_id=item_id,
        user_id=principal.user_id,
        may_take_assigned=principal.has_any({Role.SENIOR_RADIOLOGIST}),
        now=now,
        lock_until=now + DEFAULT_LOCK,
    )
    if item is None:
        raise _why_not_claimed(session, principal, item_id)
    lock = lock_time(session, item)
    if lock != DEFAULT_LOCK:
        item.lock_expires_at = now + lock
    study = session.get(Study, item.study_id, with_for_update=True)
    assert study is not None
    if study.status == StudyStatus.UNREAD.value:
        transitions.move(session, study, StudyStatus.CLAIMED, actor=principal.actor)
    live.publish(session, item, "claimed")
    return item


def _why_not_claimed(session: Session, principal: Principal, item_id: uuid.UUID) -> Exception:
    item = hospital_item(session, principal=principal, item_id=item_id)  # 404 if not ours
    if item.status == "REPORTED":
        return AlreadyReported("This study is already reported; open its report instead.")
    pushed_elsewhere = item.assigned_to_id not in (None, principal.user_id)
    if pushed_elsewhere and not principal.has_any({Role.SENIOR_RADIOLOGIST}):
        return AssignedToAnother(
            "This study was assigned to another radiologist; ask a senior radiologist to "
            "reassign it."
        )
    return AlreadyClaimed("Another radiologist is reading this study; pick another one.")


def renew(session: Session, *, principal: Principal, item_id: uuid.UUID) -> WorklistItem:
    """Extend the caller's lock by the agreement's lock time, counted from now."""
    item = hospital_item(session, principal=principal, item_id=item_id)
    user_id = _user(principal)
    now = utc_now()
    if not claims_repository.move_lock(
        session,
        item_id=item.id,
        holder_id=user_id,
        new_holder_id=user_id,
        now=now,
        lock_until=now + lock_time(session, item),
    ):
        raise NotClaimedByYou(
            "You do not hold this study's claim, so there is no lock to renew; claim it again "
            "from the worklist."
        )
    session.refresh(item)
    return item


def release(session: Session, *, principal: Principal, item_id: uuid.UUID) -> WorklistItem:
    """Give a claimed item back to the shared queue (unclaim)."""
    item = hospital_item(session, principal=principal, item_id=item_id)
    if not claims_repository.unlock(
        session, item_id=item.id, holder_id=_user(principal), now=utc_now()
    ):
        raise NotClaimedByYou("You do not hold this study's claim.")
    session.refresh(item)
    _study_back_to_unread(session, item, actor=principal.actor)
    live.publish(session, item, "released")
    return item


def take_over(
    session: Session, *, principal: Principal, item_id: uuid.UUID, reason: str
) -> WorklistItem:
    """Move another reader's lock to the calling senior radiologist (audited, holder told)."""
    item = hospital_item(session, principal=principal, item_id=item_id)
    user_id = _user(principal)
    holder = item.claimed_by_id
    if item.status != "CLAIMED" or holder is None or holder == user_id:
        raise NothingToTakeOver(
            "Nobody else holds this study, so there is nothing to take over; claim it instead."
        )
    now = utc_now()
    if not claims_repository.move_lock(
        session,
        item_id=item.id,
        holder_id=holder,
        new_holder_id=user_id,
        now=now,
        lock_until=now + lock_time(session, item),
    ):
        raise NothingToTakeOver("The claim changed meanwhile; reload the worklist and retry.")
    session.refresh(item)
    item.claimed_at = now
    audit.record(
        session,
        actor=principal.actor,
        action="worklist.take_over",
        object_type="worklist_item",
        object_id=item.id,
        tenant_id=item.tenant_id,
        study_id=item.study_id,
        detail={"from_user_id": str(holder), "reason": reason},
    )
    notifications.notify(
        session,
        item=item,
        kind="lock_taken_over",
        user_id=holder,
        message=f"A senior radiologist took over your claim on worklist item {item.id}.",
    )
    live.publish(session, item, "claimed")
    return item


def release_expired(session: Session, *, now: datetime | None = None, limit: int = 500) -> int:
    """Put every item whose lock ran out back in the queue; return how many were released."""
    moment = now or utc_now()
    items = claims_repository.expired_locks(session, now=moment, limit=limit)
    for item in items:
        holder = item.claimed_by_id
        item.status = "UNREAD"
        item.claimed_by_id = None
        item.lock_expires_at = None
        _study_back_to_unread(session, item, actor=LOCK_TIMEOUT_ACTOR)
        audit.record(
            session,
            actor=LOCK_TIMEOUT_ACTOR,
            action="worklist.lock_expired",
            object_type="worklist_item",
            object_id=item.id,
            tenant_id=item.tenant_id,
            study_id=item.study_id,
            detail={"holder_id": str(holder)},
        )
        live.publish(session, item, "released")
    return len(items)
