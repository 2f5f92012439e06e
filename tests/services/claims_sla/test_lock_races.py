"""Real concurrency on PostgreSQL: renew against lock expiry, senior take-over against a claim.

Each round starts both operations in their own sessions and connections at one barrier and
repeats, so both orders (and true overlap on the row lock) occur. Whatever the order, the
item must end in the state of exactly one serial history, with the audit trail, notifications
and live events of that history and nothing else.

PostgreSQL only: SQLite serializes writers, so it cannot show these races. Where PostgreSQL
does not run locally the tests are reported as skipped; under CI it must run (see
``tests/fixtures/databases.py``), so a missing server fails them.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from services.auth.principal import Principal
from services.kit.clock import utc_now
from services.kit.db import session_scope
from services.models import AuditEvent, Notification, Study, WorklistEvent, WorklistItem
from services.worklist import claims
from services.worklist.exceptions import AlreadyClaimed, NotClaimedByYou, NothingToTakeOver
from tests.factories import tenant as tenant_factory
from tests.factories.tenant import Consortium
from tests.fixtures.databases import DATABASE_KINDS, Database
from tests.services.claims_sla.conftest import add_study, principal_of

pytestmark = [
    pytest.mark.integration,
    pytest.mark.parametrize(
        "database", [k for k in DATABASE_KINDS if k == "postgresql"], indirect=True
    ),
]
ROUNDS = 12


def _race(
    db: Database,
    first: Callable[[Session], str],
    second: Callable[[Session], str],
    *,
    first_after_s: float = 0.0,
) -> tuple[str, str]:
    """Run both operations at once, each committing on success; return their outcomes.

    ``first_after_s`` holds the first back a little after the start line, so that rounds
    cover different interleavings, not only the one the faster statement always wins.
    """
    barrier = threading.Barrier(2)

    def run(operation: Callable[[Session], str], after_s: float) -> str:
        with db.factory() as session:
            session.connection()  # connected before the start line, not after it
            barrier.wait(timeout=30)
            time.sleep(after_s)
            try:
                outcome = operation(session)
            except (AlreadyClaimed, NotClaimedByYou, NothingToTakeOver) as refused:
                session.rollback()
                return type(refused).__name__
            session.commit()
            return outcome

    with ThreadPoolExecutor(max_workers=2) as pool:
        a, b = pool.submit(run, first, first_after_s), pool.submit(run, second, 0.0)
        return a.result(timeout=60), b.result(timeout=60)


def _claimed_with_expired_lock(
    db: Database, consortium: Consortium, holder: Principal
) -> WorklistItem:
    _study, item = add_study(db, consortium.clinic_a)
    with session_scope(db.factory) as session:
        claims.claim(session, principal=holder, item_id=item.id)
    with session_scope(db.factory) as session:
        session.execute(
            update(WorklistItem)
            .where(WorklistItem.id == item.id)
            .values(lock_expires_at=utc_now() - timedelta(seconds=1))
        )
    return item


def _trail(db: Database, item: WorklistItem) -> dict[str, Any]:
    with db.factory() as session:
        stored = session.get_one(WorklistItem, item.id)
        audits = session.scalars(
            select(AuditEvent).where(AuditEvent.object_id == str(item.id))
        ).all()
        return {
            "item": (stored.status, stored.claimed_by_id),
            "lock": stored.lock_expires_at,
            "study": session.get_one(Study, item.study_id).status,
            "audit": [(a.action, (a.detail or {}).get("from_user_id")) for a in audits],
            "events": session.scalars(
                select(WorklistEvent.kind)
                .where(WorklistEvent.item_id == item.id)
                .order_by(WorklistEvent.id)
            ).all(),
            "notified": [
                (n.kind, n.user_id)
                for n in session.scalars(
                    select(Notification).where(Notification.worklist_item_id == item.id)
                )
            ],
        }


def _locked_ahead(lock: datetime | None, since: datetime) -> bool:
    return lock is not None and lock > since + timedelta(minutes=1)


def test_renew_against_lock_expiry_has_exactly_one_outcome(
    use_database: Database, consortium: Consortium
) -> None:
    reader = principal_of(consortium.radiologist, consortium.tenant_id)
    seen = set()
    for _ in range(ROUNDS):
        item = _claimed_with_expired_lock(use_database, consortium, reader)
        started = utc_now()

        def renew(session: Session, item_id: uuid.UUID = item.id) -> str:
            claims.renew(session, principal=reader, item_id=item_id)
            return "renewed"

        def expire(session: Session) -> str:
            claims.release_expired(session)
            return "swept"

        renewed, swept = _race(use_database, renew, expire)
        trail = _trail(use_database, item)
        assert swept == "swept"
        expired = [a for a in trail["audit"] if a[0] == "worklist.lock_expired"]
        if renewed == "renewed":  # renew first: the sweeper no longer sees an expired lock
            assert trail["item"] == ("CLAIMED", reader.user_id), trail
            assert _locked_ahead(trail["lock"], started), trail
            assert (trail["study"], expired, trail["events"]) == (
                "CLAIMED",
                [],
                ["created", "claimed"],
            )
        else:  # the sweep first: the reader is told the claim is gone, nothing is resurrected
            assert renewed == "NotClaimedByYou", renewed
            assert (trail["item"], trail["lock"], trail["study"]) == (
                ("UNREAD", None),
                None,
                "UNREAD",
            )
            assert len(expired) == 1, trail
            assert trail["events"] == ["created", "claimed", "released"], trail
        seen.add(renewed)
    print(f"renew vs expiry outcomes over {ROUNDS} rounds: {sorted(seen)}")


def test_take_over_against_claim_has_one_consistent_holder(
    use_database: Database, consortium: Consortium
) -> None:
    (third,) = tenant_factory.add_radiologists(use_database.factory, consortium, 1)
    holder = principal_of(consortium.radiologist, consortium.tenant_id)
    claimer = principal_of(third, consortium.tenant_id)
    senior = principal_of(consortium.senior_radiologist, consortium.tenant_id)
    seen = set()
    for round_no in range(ROUNDS):
        item = _claimed_with_expired_lock(use_database, consortium, holder)
        started = utc_now()

        def claim(session: Session, item_id: uuid.UUID = item.id) -> str:
            claims.claim(session, principal=claimer, item_id=item_id)
            return "claimed"

        def take_over(session: Session, item_id: uuid.UUID = item.id) -> str:
            claims.take_over(session, principal=senior, item_id=item_id, reason="stuck")
            return "taken"

        hold_back = (round_no % 4) * 0.005  # 0-15 ms: the take-over's read, then its UPDATE
        claimed, taken = _race(use_database, claim, take_over, first_after_s=hold_back)
        trail = _trail(use_database, item)
        take_overs = [a for a in trail["audit"] if a[0] == "worklist.take_over"]
        assert trail["study"] == "CLAIMED"
        assert _locked_ahead(trail["lock"], started), trail
        if (claimed, taken) == ("claimed", "NothingToTakeOver"):
            # The claim moved the lock first; the take-over aimed at the old holder did nothing.
            assert trail["item"] == ("CLAIMED", claimer.user_id)
            assert (take_overs, trail["notified"]) == ([], [])
        elif (claimed, taken) == ("AlreadyClaimed", "taken"):
            # The senior took the expired lock from its holder; the claim then found it held.
            assert trail["item"] == ("CLAIMED", senior.user_id)
            assert take_overs == [("worklist.take_over", str(holder.user_id))]
            assert trail["notified"] == [("lock_taken_over", holder.user_id)]
        else:
            # The only other serial history: the claim committed, then the senior took it over
            # from the new holder, who (not the old one) is told.
            assert (claimed, taken) == ("claimed", "taken"), (claimed, taken)
            assert trail["item"] == ("CLAIMED", senior.user_id)
            assert take_overs == [("worklist.take_over", str(claimer.user_id))]
            assert trail["notified"] == [("lock_taken_over", claimer.user_id)]
        seen.add((claimed, taken))
    print(f"take-over vs claim outcomes over {ROUNDS} rounds: {sorted(seen)}")
