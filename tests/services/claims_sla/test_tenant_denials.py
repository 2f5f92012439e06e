"""A user of another consortium gets 404 (or 403 for the wrong role) and changes nothing.

Release/renew/take-over of an item, the notification list, an agreement's reading settings,
and the figures for a hospital id of another consortium.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update

from services.kit.clock import utc_now
from services.kit.db import session_scope
from services.models import (
    AuditEvent,
    Notification,
    ReadingAgreement,
    Study,
    WorklistEvent,
    WorklistItem,
)
from services.worklist import escalation
from tests.factories.tenant import Consortium
from tests.fixtures.api_client import Api
from tests.fixtures.databases import Database
from tests.services.claims_sla.conftest import add_study, assert_error

pytestmark = pytest.mark.integration
WORKLIST = "/api/v1/worklist"


def _snapshot(db: Database, item_id: uuid.UUID) -> tuple[Any, ...]:
    """Everything a release, renew or take-over could change about an item."""
    with db.factory() as session:
        item = session.get_one(WorklistItem, item_id)
        study = session.get_one(Study, item.study_id)
        events = session.scalar(
            select(func.count()).select_from(WorklistEvent).where(WorklistEvent.item_id == item_id)
        )
        audits = session.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.study_id == study.id)
        )
        notes = session.scalar(
            select(func.count())
            .select_from(Notification)
            .where(Notification.worklist_item_id == item_id)
        )
        return (
            item.status,
            item.claimed_by_id,
            item.lock_expires_at,
            item.updated_at,
            study.status,
            events,
            audits,
            notes,
        )


class TestItemActions:
    @pytest.mark.parametrize(
        ("action", "who", "body"),
        [
            ("release", "radiologist", None),
            ("renew", "radiologist", None),
            ("take-over", "senior_radiologist", {"reason": "reader went home"}),
        ],
    )
    def test_other_tenant_cannot_touch_a_claimed_item(
        self,
        *,
        api: Api,
        use_database: Database,
        consortium: Consortium,
        other: Consortium,
        action: str,
        who: str,
        body: dict[str, str] | None,
    ) -> None:
        _study, item = add_study(use_database, consortium.clinic_a)
        claimed = api.post(consortium.radiologist, f"{WORKLIST}/{item.id}/claim")
        assert claimed.status_code == 200, claimed.text
        before = _snapshot(use_database, item.id)

        response = api.post(other.account(who), f"{WORKLIST}/{item.id}/{action}", body)

        assert_error(response, 404, "worklist_item_not_found")
        assert _snapshot(use_database, item.id) == before
        assert before[:2] == ("CLAIMED", consortium.radiologist.user_id)

    def test_clinic_staff_of_the_same_tenant_is_403_and_changes_nothing(
        self, api: Api, use_database: Database, consortium: Consortium
    ) -> None:
        _study, item = add_study(use_database, consortium.clinic_a)
        assert api.post(consortium.radiologist, f"{WORKLIST}/{item.id}/claim").status_code == 200
        before = _snapshot(use_database, item.id)

        response = api.post(consortium.clinic_staff, f"{WORKLIST}/{item.id}/release")

        assert_error(response, 403, "forbidden")
        assert _snapshot(use_database, item.id) == before


class TestNotifications:
    def test_other_tenant_sees_none_of_our_escalation_notices(
        self, api: Api, use_database: Database, consortium: Consortium, other: Consortium
    ) -> None:
        _study, item = add_study(use_database, consortium.clinic_a)
        senior = consortium.senior_radiologist  # exists before escalation: gets a personal note
        with session_scope(use_database.factory) as session:
            session.execute(
                update(WorklistItem)
                .where(WorklistItem.id == item.id)
                .values(due_at=utc_now() - timedelta(minutes=2))
            )
        with session_scope(use_database.factory) as session:
            escalation.escalate(session)

        def listed(account: Any) -> list[dict[str, Any]]:
            response = api.get(account, f"{WORKLIST}/notifications/mine")
            assert response.status_code == 200, response.text
            return [n for n in response.json() if n["worklist_item_id"] == str(item.id)]

        assert [n["kind"] for n in listed(consortium.radiologist)] == ["sla_breached"]
        assert [n["kind"] for n in listed(senior)] == ["sla_breached", "sla_breached"]
        assert listed(other.radiologist) == []
        assert listed(other.senior_radiologist) == []
        assert api.get(other.radiologist, f"{WORKLIST}/notifications/mine").json() == []
        assert_error(
            api.get(consortium.clinic_staff, f"{WORKLIST}/notifications/mine"), 403, "forbidden"
        )


class TestReadingSettings:
    def test_other_tenant_can_neither_read_nor_change_them(
        self, api: Api, use_database: Database, consortium: Consortium, other: Consortium
    ) -> None:
        with use_database.factory() as session:
            agreement_id = session.scalars(
                select(ReadingAgreement.id).where(
                    ReadingAgreement.clinic_org_id == consortium.clinic_a.id
                )
            ).one()
        url = f"/api/v1/reading-agreements/{agreement_id}/reading-settings"
        before = api.get(consortium.consortium_admin, url)
        assert before.status_code == 200, before.text

        assert_error(api.get(other.consortium_admin, url), 404, "not_found")
        assert_error(api.get(other.radiologist, url), 403, "forbidden")
        change = {"lock_minutes": 5, "sla_warn_minutes": 1, "assignment_mode": "push"}
        assert_error(api.put(other.consortium_admin, url, change), 404, "not_found")

        assert api.get(consortium.consortium_admin, url).json() == before.json()
        assert before.json()["lock_minutes"] != 5


class TestFiguresOfAnotherHospital:
    PERIOD = {"since": "2026-03-02T00:00:00Z", "until": "2026-03-03T00:00:00Z"}

    @pytest.mark.parametrize("path", ["turnaround", "sla-breaches"])
    def test_hospital_id_of_another_consortium_is_404(
        self,
        api: Api,
        use_database: Database,
        consortium: Consortium,
        other: Consortium,
        path: str,
    ) -> None:
        study, item = add_study(use_database, consortium.clinic_a)
        day = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
        with session_scope(use_database.factory) as session:
            session.execute(update(Study).where(Study.id == study.id).values(received_at=day))
            session.execute(
                update(WorklistItem)
                .where(WorklistItem.id == item.id)
                .values(breached_at=day + timedelta(hours=1))
            )
        url = f"/api/v1/figures/{path}"
        ours = api.get(
            consortium.consortium_admin, url, hospital_id=str(consortium.hospital.id), **self.PERIOD
        )
        assert ours.status_code == 200, ours.text
        assert len(ours.json()) == 1  # there is something to leak

        for account in (other.consortium_admin, other.radiologist):
            response = api.get(account, url, hospital_id=str(consortium.hospital.id), **self.PERIOD)
            assert_error(response, 404, "not_found")
        # Our own admin asking for the other consortium's hospital: 404 too.
        response = api.get(
            consortium.consortium_admin, url, hospital_id=str(other.hospital.id), **self.PERIOD
        )
        assert_error(response, 404, "not_found")
