"""Eight radiologists claim the same study at the same instant: exactly one may win.

Runs on every available database kind: PostgreSQL re-checks the UPDATE's WHERE after the
winner's row lock is released, and SQLite serializes writers, so both must give one winner.
"""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import select

from services.auth.principal import Principal
from services.domain.roles import Role
from services.kit.db import session_scope
from services.models import Study, WorklistItem
from services.worklist import service as worklist_service
from services.worklist.exceptions import AlreadyClaimed
from tests.factories import study as study_factory
from tests.factories import tenant as tenant_factory
from tests.factories.tenant import Account, Organizations
from tests.fixtures.databases import Database

pytestmark = pytest.mark.integration

READERS = 8


def _principal(account: Account, orgs: Organizations) -> Principal:
    return Principal(
        subject=str(account.user_id),
        kind="user",
        user_id=account.user_id,
        tenant_id=orgs.tenant_id,
        organization_id=account.organization_id,
        roles=frozenset({Role.RADIOLOGIST.value}),
        display_name=account.username,
    )


def _claim_at_barrier(
    db: Database, principal: Principal, item_id: uuid.UUID, barrier: threading.Barrier
) -> str:
    """Claim in this thread's own session once every thread is ready; return the outcome."""
    with db.factory() as session:
        session.connection()  # check out a connection before the start line, not after it
        barrier.wait(timeout=30)
        try:
            worklist_service.claim(session, principal=principal, item_id=item_id)
            session.commit()
        except AlreadyClaimed:
            session.rollback()
            return "lost"
        return "won"


class TestConcurrentClaim:
    def test_exactly_one_of_eight_radiologists_wins(self, use_database: Database) -> None:
        orgs = tenant_factory.build_organizations(use_database.factory)
        readers = tenant_factory.add_radiologists(use_database.factory, orgs, READERS)
        with session_scope(use_database.factory) as session:
            study, _ = study_factory.register_study(session, clinic=orgs.clinic_a)
            item = session.scalars(
                select(WorklistItem).where(WorklistItem.study_id == study.id)
            ).one()
        principals = [_principal(r, orgs) for r in readers]
        barrier = threading.Barrier(READERS)

        with ThreadPoolExecutor(max_workers=READERS) as pool:
            futures = [
                pool.submit(_claim_at_barrier, use_database, p, item.id, barrier)
                for p in principals
            ]
            outcomes = [f.result(timeout=60) for f in futures]

        assert sorted(outcomes) == ["lost"] * (READERS - 1) + ["won"]
        winner = principals[outcomes.index("won")]
        with use_database.factory() as session:
            stored = session.get_one(WorklistItem, item.id)
            stored_study = session.get_one(Study, study.id)
        assert (stored.status, stored.claimed_by_id) == ("CLAIMED", winner.user_id)
        assert stored_study.status == "CLAIMED"
