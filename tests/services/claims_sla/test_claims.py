"""Claims and locks over HTTP and from the beat task: renew, expiry, takeover, bad input."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from services.kit.clock import utc_now
from services.models import AuditEvent, Notification, ReadingAgreement, Study, WorklistItem
from services.worklist import tasks
from tests.factories import tenant as tenant_factory
from tests.factories.tenant import Consortium
from tests.fixtures.api_client import Api
from tests.fixtures.databases import Database
from tests.services.claims_sla.conftest import add_study, assert_error

pytestmark = pytest.mark.integration


def _item(db: Database, item_id: object) -> WorklistItem:
    with db.factory() as session:
        return session.get_one(WorklistItem, item_id)


def _set_lock(db: Database, item_id: object, delta: timedelta) -> None:
    with db.factory() as session:
        session.execute(
            update(WorklistItem)
            .where(WorklistItem.id == item_id)
            .values(lock_expires_at=utc_now() + delta)
        )
        session.commit()


class TestRenew:
    def test_renew_extends_the_lock(
        self, api: Api, use_database: Database, consortium: Consortium
    ) -> None:
        _, item = add_study(use_database, consortium.clinic_a)
        reader = consortium.radiologist
        assert api.post(reader, f"/api/v1/worklist/{item.id}/claim").status_code == 200
        _set_lock(use_database, item.id, timedelta(minutes=1))
        before = _item(use_database, item.id).lock_expires_at
        response = api.post(reader, f"/api/v1/worklist/{item.id}/renew")
        assert response.status_code == 200, response.text
        after = _item(use_database, item.id).lock_expires_at
        assert before is not None and after is not None
        assert after - before > timedelta(minutes=28)

    def test_lock_time_comes_from_the_reading_agreement(
        self, api: Api, use_database: Database, consortium: Consortium
    ) -> None:
        with use_database.factory() as session:
            session.execute(
                update(ReadingAgreement)
                .where(ReadingAgreement.clinic_org_id == consortium.clinic_a.id)
                .values(lock_minutes=5)
            )
            session.commit()
        _, item = add_study(use_database, consortium.clinic_a)
        assert (
            api.post(consortium.radiologist, f"/api/v1/worklist/{item.id}/claim").status_code == 200
        )
        stored = _item(use_database, item.id)
        assert stored.lock_expires_at is not None and stored.claimed_at is not None
        assert stored.lock_expires_at - stored.claimed_at == timedelta(minutes=5)

    def test_renewing_a_lock_you_do_not_hold_is_refused_and_changes_nothing(
        self, api: Api, use_database: Database, consortium: Consortium
    ) -> None:
        _, item = add_study(use_database, consortium.clinic_a)
        holder, (other,) = (
            consortium.radiologist,
            tenant_factory.add_radiologists(use_database.factory, consortium, 1),
        )
        assert api.post(holder, f"/api/v1/worklist/{item.id}/claim").status_code == 200
        before = _item(use_database, item.id)
        assert_error(
            api.post(other, f"/api/v1/worklist/{item.id}/renew"), 409, "not_claimed_by_you"
        )
        after = _item(use_database, item.id)
        assert (after.claimed_by_id, after.lock_expires_at) == (
            before.claimed_by_id,
            before.lock_expires_at,
        )

    def test_renewing_an_unclaimed_item_is_refused(
        self, api: Api, use_database: Database, consortium: Consortium
    ) -> None:
        _, item = add_study(use_database, consortium.clinic_a)
        response = api.post(consortium.radiologist, f"/api/v1/worklist/{item.id}/renew")
        assert_error(response, 409, "not_claimed_by_you")
        assert _item(use_database, item.id).status == "UNREAD"


class TestClaimConflicts:
    def test_claiming_an_item_someone_else_holds_is_refused(
        self, api: Api, use_database: Database, consortium: Consortium
    ) -> None:
        _, item = add_study(use_database, consortium.clinic_a)
        (second,) = tenant_factory.add_radiologists(use_database.factory, consortium, 1)
        assert (
            api.post(consortium.radiologist, f"/api/v1/worklist/{item.id}/claim").status_code == 200
        )
        assert_error(api.post(second, f"/api/v1/worklist/{item.id}/claim"), 409, "already_claimed")
        assert _item(use_database, item.id).claimed_by_id == consortium.radiologist.user_id


class TestLockExpiry:
    def test_beat_task_releases_expired_locks_only(
        self, api: Api, use_database: Database, consortium: Consortium
    ) -> None:
        study, expired = add_study(use_database, consortium.clinic_a)
        _, live = add_study(use_database, consortium.clinic_a)
        reader = consortium.radiologist
        for item in (expired, live):
            assert api.post(reader, f"/api/v1/worklist/{item.id}/claim").status_code == 200
        _set_lock(use_database, expired.id, -timedelta(seconds=1))

        released = tasks.release_expired_locks()

        assert released >= 1
        gone, kept = _item(use_database, expired.id), _item(use_database, live.id)
        assert (gone.status, gone.claimed_by_id, gone.lock_expires_at) == ("UNREAD", None, None)
        assert (kept.status, kept.claimed_by_id) == ("CLAIMED", reader.user_id)
        with use_database.factory() as session:
            assert session.get_one(Study, study.id).status == "UNREAD"
            events = session.scalars(
                select(AuditEvent).where(
                    AuditEvent.action == "worklist.lock_expired",
                    AuditEvent.object_id == str(expired.id),
                )
            ).all()
        assert len(events) == 1
        assert events[0].detail["holder_id"] == str(reader.user_id)
        # the old holder's renew now fails: the lock is gone
        assert_error(
            api.post(reader, f"/api/v1/worklist/{expired.id}/renew"), 409, "not_claimed_by_you"
        )


class TestTakeOver:
    def test_senior_takes_over_and_it_is_audited(
        self, api: Api, use_database: Database, consortium: Consortium
    ) -> None:
        _, item = add_study(use_database, consortium.clinic_a)
        reader, senior = consortium.radiologist, consortium.senior_radiologist
        assert api.post(reader, f"/api/v1/worklist/{item.id}/claim").status_code == 200
        response = api.post(
            senior, f"/api/v1/worklist/{item.id}/take-over", {"reason": "reader went off shift"}
        )
        assert response.status_code == 200, response.text
        assert response.json()["claimed_by_id"] == str(senior.user_id)
        with use_database.factory() as session:
            event = session.scalars(
                select(AuditEvent).where(
                    AuditEvent.action == "worklist.take_over",
                    AuditEvent.object_id == str(item.id),
                )
            ).one()
            note = session.scalars(
                select(Notification).where(
                    Notification.worklist_item_id == item.id,
                    Notification.kind == "lock_taken_over",
                )
            ).one()
        assert event.actor == f"user:{senior.user_id}"
        assert event.detail == {
            "from_user_id": str(reader.user_id),
            "reason": "reader went off shift",
        }
        assert note.user_id == reader.user_id
        assert_error(
            api.post(reader, f"/api/v1/worklist/{item.id}/renew"), 409, "not_claimed_by_you"
        )

    def test_plain_radiologist_cannot_take_over(
        self, api: Api, use_database: Database, consortium: Consortium
    ) -> None:
        _, item = add_study(use_database, consortium.clinic_a)
        (second,) = tenant_factory.add_radiologists(use_database.factory, consortium, 1)
        assert (
            api.post(consortium.radiologist, f"/api/v1/worklist/{item.id}/claim").status_code == 200
        )
        response = api.post(second, f"/api/v1/worklist/{item.id}/take-over", {"reason": "mine now"})
        assert_error(response, 403, "forbidden")
        assert _item(use_database, item.id).claimed_by_id == consortium.radiologist.user_id

    def test_taking_over_an_unclaimed_item_is_refused(
        self, api: Api, use_database: Database, consortium: Consortium
    ) -> None:
        _, item = add_study(use_database, consortium.clinic_a)
        response = api.post(
            consortium.senior_radiologist,
            f"/api/v1/worklist/{item.id}/take-over",
            {"reason": "x" * 5},
        )
        assert_error(response, 409, "nothing_to_take_over")
        assert _item(use_database, item.id).status == "UNREAD"


class TestTenantBoundary:
    @pytest.mark.parametrize("action", ["renew", "take-over", "assign", "priors"])
    def test_other_consortium_gets_404(
        self,
        api: Api,
        use_database: Database,
        consortium: Consortium,
        other: Consortium,
        action: str,
    ) -> None:
        _, item = add_study(use_database, consortium.clinic_a)
        assert (
            api.post(consortium.radiologist, f"/api/v1/worklist/{item.id}/claim").status_code == 200
        )
        url = f"/api/v1/worklist/{item.id}/{action}"
        outsider = other.senior_radiologist
        if action == "priors":
            response = api.get(outsider, url)
        else:
            response = api.post(
                outsider, url, {"reason": "cross-tenant"} if action == "take-over" else {}
            )
        assert_error(response, 404, "worklist_item_not_found")
        stored = _item(use_database, item.id)
        assert (stored.claimed_by_id, stored.assigned_to_id) == (
            consortium.radiologist.user_id,
            None,
        )

    def test_clinic_staff_cannot_renew(
        self, api: Api, use_database: Database, consortium: Consortium
    ) -> None:
        _, item = add_study(use_database, consortium.clinic_a)
        assert_error(
            api.post(consortium.clinic_staff, f"/api/v1/worklist/{item.id}/renew"), 403, "forbidden"
        )
