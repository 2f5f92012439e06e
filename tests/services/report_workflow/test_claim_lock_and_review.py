"""The worklist claim around a report: autosave renews it, signing ends it, signing needs it;
and "pending my review" lists what awaits the calling senior's countersignature (双签)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update

from services.kit.clock import utc_now
from services.models import AuditEvent, Report, Study, WorklistItem
from services.worklist import repository
from tests.factories import study as study_factory
from tests.factories.tenant import Consortium
from tests.fixtures.api_client import Api
from tests.fixtures.databases import Database
from tests.services.report_workflow.steps import assert_error, report_url
from tests.services.test_api_flow import DRAFT, _claim

pytestmark = pytest.mark.integration
WORKLIST = "/api/v1/worklist"


def _item(db: Database, study: Study) -> WorklistItem:
    with db.factory() as session:
        item = repository.by_study(session, study.id)
        assert item is not None
        return item


def _set_lock(db: Database, study: Study, delta: timedelta) -> None:
    with db.factory() as session:
        session.execute(
            update(WorklistItem)
            .where(WorklistItem.study_id == study.id)
            .values(lock_expires_at=utc_now() + delta)
        )
        session.commit()


def _view(api: Api, account: Any, view: str) -> list[str]:
    response = api.get(account, WORKLIST, view=view)
    assert response.status_code == 200, response.text
    return [i["study_id"] for i in response.json()["items"]]


def _study_row(db: Database, study: Study) -> Study:
    with db.factory() as session:
        return session.get_one(Study, study.id)


def _reports(db: Database, study: Study) -> list[tuple[int, str]]:
    with db.factory() as session:
        rows = session.scalars(select(Report).where(Report.study_id == study.id)).all()
        return sorted((r.version, r.status) for r in rows)


def _signed_audits(db: Database, study: Study) -> int:
    with db.factory() as session:
        count = session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.study_id == study.id, AuditEvent.action == "report.signed")
        )
        return int(count or 0)


def _double_signature(api: Api, consortium: Consortium) -> None:
    response = api.put(
        consortium.consortium_admin,
        "/api/v1/report-policy",
        {"double_signature": True, "emergency_single_signature": True},
    )
    assert response.status_code == 200, response.text


class TestAutosaveRenewsTheLock:
    def test_saving_a_draft_extends_the_claim(
        self, api: Api, consortium: Consortium, claimed: Study, use_database: Database
    ) -> None:
        _set_lock(use_database, claimed, timedelta(minutes=1))  # about to run out
        before = _item(use_database, claimed).lock_expires_at

        saved = api.put(consortium.radiologist, report_url(claimed, "/draft"), DRAFT)

        assert saved.status_code == 200, saved.text
        after = _item(use_database, claimed)
        assert before is not None and after.lock_expires_at is not None
        assert after.lock_expires_at - before > timedelta(minutes=28)  # 30 min from now
        assert (after.status, after.claimed_by_id) == (
            "CLAIMED",
            consortium.radiologist.user_id,
        )

    def test_a_refused_save_renews_nothing(
        self, api: Api, consortium: Consortium, claimed: Study, use_database: Database
    ) -> None:
        _set_lock(use_database, claimed, timedelta(minutes=1))
        before = _item(use_database, claimed).lock_expires_at

        stranger = api.put(consortium.senior_radiologist, report_url(claimed, "/draft"), DRAFT)

        assert_error(stranger, 409, "not_claimed_by_you")
        assert _item(use_database, claimed).lock_expires_at == before


class TestSigningEndsTheClaim:
    def test_after_signing_the_item_is_no_longer_claimed(
        self, api: Api, consortium: Consortium, claimed: Study, use_database: Database
    ) -> None:
        reader = consortium.radiologist
        assert api.put(reader, report_url(claimed, "/draft"), DRAFT).status_code == 200
        assert _view(api, reader, "my_claimed") == [str(claimed.id)]

        signed = api.post(reader, report_url(claimed, "/sign"))

        assert signed.status_code == 200, signed.text
        item = _item(use_database, claimed)
        assert (item.status, item.lock_expires_at) == ("REPORTED", None)
        assert _study_row(use_database, claimed).status == "REPORTED"
        assert _view(api, reader, "my_claimed") == []
        assert str(claimed.id) not in _view(api, reader, "my_unread")
        renew = api.post(reader, f"{WORKLIST}/{item.id}/renew")
        assert_error(renew, 409, "not_claimed_by_you")  # no lock left to renew

    def test_signing_after_unclaiming_is_409_and_changes_nothing(
        self, api: Api, consortium: Consortium, claimed: Study, use_database: Database
    ) -> None:
        reader = consortium.radiologist
        assert api.put(reader, report_url(claimed, "/draft"), DRAFT).status_code == 200
        item_id = _item(use_database, claimed).id
        assert api.post(reader, f"{WORKLIST}/{item_id}/release").status_code == 200

        refused = api.post(reader, report_url(claimed, "/sign"))

        body = assert_error(refused, 409, "not_claimed_by_you")
        assert "Claim the study" in body["message"]
        item = _item(use_database, claimed)
        assert (item.status, item.claimed_by_id, item.lock_expires_at) == ("UNREAD", None, None)
        assert _study_row(use_database, claimed).status == "UNREAD"
        assert _reports(use_database, claimed) == [(1, "DRAFT")]
        assert _signed_audits(use_database, claimed) == 0

    def test_signing_a_draft_whose_claim_a_senior_took_over_is_409(
        self, api: Api, consortium: Consortium, claimed: Study, use_database: Database
    ) -> None:
        reader, senior = consortium.radiologist, consortium.senior_radiologist
        assert api.put(reader, report_url(claimed, "/draft"), DRAFT).status_code == 200
        item_id = _item(use_database, claimed).id
        taken = api.post(senior, f"{WORKLIST}/{item_id}/take-over", {"reason": "reader left"})
        assert taken.status_code == 200, taken.text

        refused = api.post(reader, report_url(claimed, "/sign"))

        assert_error(refused, 409, "not_claimed_by_you")
        item = _item(use_database, claimed)
        assert (item.status, item.claimed_by_id) == ("CLAIMED", senior.user_id)
        assert _reports(use_database, claimed) == [(1, "DRAFT")]
        assert _signed_audits(use_database, claimed) == 0


class TestPendingMyReview:
    def test_lists_what_awaits_the_seniors_countersignature(
        self,
        api: Api,
        consortium: Consortium,
        claimed: Study,
        use_database: Database,
    ) -> None:
        _double_signature(api, consortium)
        reader, senior = consortium.radiologist, consortium.senior_radiologist
        with use_database.factory.begin() as session:  # a study the senior holds, unsigned
            held, _ = study_factory.register_study(session, clinic=consortium.clinic_a)
        assert _claim(api, senior, held).status_code == 200
        assert api.put(reader, report_url(claimed, "/draft"), DRAFT).status_code == 200
        signed = api.post(reader, report_url(claimed, "/sign"))
        assert signed.json()["status"] == "PRELIMINARY", signed.text

        pending = _view(api, senior, "pending_my_review")

        assert pending == [str(claimed.id)]
        assert _view(api, reader, "pending_my_review") == []  # the author is no senior
        queue = api.get(senior, "/api/v1/report-review").json()
        assert [q["study_id"] for q in queue] == pending  # the same set as the review queue

    def test_a_countersigned_report_leaves_the_view(
        self, api: Api, consortium: Consortium, claimed: Study
    ) -> None:
        _double_signature(api, consortium)
        reader, senior = consortium.radiologist, consortium.senior_radiologist
        assert api.put(reader, report_url(claimed, "/draft"), DRAFT).status_code == 200
        assert api.post(reader, report_url(claimed, "/sign")).status_code == 200
        assert _view(api, senior, "pending_my_review") == [str(claimed.id)]

        final = api.post(senior, report_url(claimed, "/countersign"))

        assert final.status_code == 200, final.text
        assert _view(api, senior, "pending_my_review") == []

    def test_a_single_signature_policy_leaves_nothing_to_review(
        self, api: Api, consortium: Consortium, claimed: Study
    ) -> None:
        reader = consortium.radiologist
        assert api.put(reader, report_url(claimed, "/draft"), DRAFT).status_code == 200
        signed = api.post(reader, report_url(claimed, "/sign"))
        assert signed.json()["status"] == "FINAL", signed.text

        assert _view(api, consortium.senior_radiologist, "pending_my_review") == []
