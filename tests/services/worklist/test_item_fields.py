"""What a worklist row tells a reader: due status and breach marker, holders, critical values,
patient type from intake; and the filters on the last two."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import update

from services.finding import service as finding_service
from services.finding.service import FindingInput
from services.kit.clock import utc_now
from services.kit.db import session_scope
from services.models import InferenceJob, Study, User, WorklistItem
from services.worklist import service as worklist_service
from services.worklist.schemas import WorklistPage
from tests.factories.tenant import Account, Consortium
from tests.fixtures.api_client import Api
from tests.fixtures.databases import Database
from tests.services.worklist.conftest import add_study, assert_error

pytestmark = pytest.mark.integration
URL = "/api/v1/worklist"


def _page(api: Api, account: Account, **params: Any) -> dict[str, dict[str, Any]]:
    response = api.get(account, URL, **params)
    assert response.status_code == 200, response.text
    page = WorklistPage.model_validate(response.json())  # the hand-built JSON keeps the schema
    return {str(i.id): i.model_dump(mode="json") for i in page.items}


def _name(db: Database, account: Account) -> str:
    with db.factory() as session:
        return session.get_one(User, account.user_id).display_name


def _set(db: Database, item: WorklistItem, **values: Any) -> None:
    with db.factory() as session:
        session.execute(update(WorklistItem).where(WorklistItem.id == item.id).values(**values))
        session.commit()


class TestDueStatusAndHolders:
    def test_due_status_breach_marker_claimer_and_assignee(
        self, api: Api, consortium: Consortium, use_database: Database
    ) -> None:
        late = add_study(use_database, consortium.clinic_a)
        soon = add_study(use_database, consortium.clinic_a)
        pushed = add_study(use_database, consortium.clinic_b)
        held = add_study(use_database, consortium.clinic_b)
        senior = consortium.senior_radiologist
        _set(use_database, late, due_at=utc_now() - timedelta(minutes=5))
        _set(use_database, soon, due_at=utc_now() + timedelta(minutes=10))
        _set(use_database, pushed, assigned_to_id=senior.user_id, assigned_at=utc_now())
        claimed = api.post(consortium.radiologist, f"{URL}/{held.id}/claim")
        assert claimed.status_code == 200, claimed.text

        unread = _page(api, consortium.radiologist)
        mine = _page(api, consortium.radiologist, view="my_claimed")

        row = unread[str(late.id)]
        assert (row["due_status"], row["breached"]) == ("overdue", True)
        assert row["due_in_minutes"] < 0
        assert (unread[str(soon.id)]["due_status"], unread[str(soon.id)]["breached"]) == (
            "due_soon",
            False,
        )
        row = unread[str(pushed.id)]
        assert row["assigned_to_id"] == str(senior.user_id)
        assert row["assigned_to_name"] == _name(use_database, senior)
        assert row["claimed_by_id"] is None and row["claimed_by_name"] is None
        row = mine[str(held.id)]
        assert row["claimed_by_id"] == str(consortium.radiologist.user_id)
        assert row["claimed_by_name"] == _name(use_database, consortium.radiologist)
        assert row["claimed_at"] is not None and row["lock_expires_at"] is not None
        assert claimed.json()["claimed_by_name"] == row["claimed_by_name"]
        assert row["sla_category"] and row["due_status"] in {"ok", "due_soon"}

    def test_a_renamed_claimer_shows_the_new_name_at_once(
        self, api: Api, consortium: Consortium, use_database: Database
    ) -> None:
        held = add_study(use_database, consortium.clinic_a)
        reader = consortium.radiologist
        assert api.post(reader, f"{URL}/{held.id}/claim").status_code == 200
        before = _page(api, reader, view="my_claimed")[str(held.id)]["claimed_by_name"]
        with use_database.factory() as session:
            session.execute(
                update(User).where(User.id == reader.user_id).values(display_name="王医生")
            )
            session.commit()

        after = _page(api, reader, view="my_claimed")[str(held.id)]["claimed_by_name"]
        assert (before != "王医生", after) == (True, "王医生")


def _critical_ai_finding(db: Database, study_id: object) -> None:
    with session_scope(db.factory) as session:
        study = session.get_one(Study, study_id)
        job = InferenceJob(
            tenant_id=study.tenant_id,
            study_id=study.id,
            model_name="chest-test",
            model_version="1.0",
            status="SUCCEEDED",
        )
        session.add(job)
        session.flush()
        finding_service.record(
            session,
            job=job,
            findings=[
                FindingInput(
                    code="pneumothorax",
                    label_en="Pneumothorax",
                    label_zh="气胸",
                    score=0.93,
                    severity="critical",
                )
            ],
        )
        worklist_service.reprioritize(session, study=study)


class TestCriticalValues:
    def test_critical_ai_finding_and_declared_value_flag_the_item_and_filter(
        self, api: Api, consortium: Consortium, other: Consortium, use_database: Database
    ) -> None:
        by_ai = add_study(use_database, consortium.clinic_a)
        declared = add_study(use_database, consortium.clinic_b)
        plain = add_study(use_database, consortium.clinic_a)
        _critical_ai_finding(use_database, by_ai.study_id)
        with session_scope(use_database.factory) as session:
            worklist_service.mark_critical(session, study_id=declared.study_id, source="report")
            worklist_service.mark_critical(session, study_id=declared.study_id, source="ai")

        critical = _page(api, consortium.radiologist, critical="true")
        rest = _page(api, consortium.radiologist, critical="false")

        assert set(critical) == {str(by_ai.id), str(declared.id)}
        assert critical[str(by_ai.id)]["critical_source"] == "ai"
        assert critical[str(declared.id)]["critical_source"] == "report"  # a reader's word wins
        assert str(plain.id) in rest and not set(critical) & set(rest)
        assert _page(api, other.radiologist, critical="true") == {}

    def test_critical_value_that_is_not_a_boolean_is_422(
        self, api: Api, consortium: Consortium
    ) -> None:
        response = api.get(consortium.radiologist, URL, critical="maybe")
        assert_error(response, 422, "invalid_request", "critical")


class TestPatientType:
    def test_set_at_intake_from_order_location_or_admission_and_filterable(
        self, api: Api, consortium: Consortium, use_database: Database
    ) -> None:
        emergency = add_study(
            use_database,
            consortium.clinic_a,
            patient_location="急诊科 抢救室",
            requested_priority="STAT",
        )
        inpatient = add_study(use_database, consortium.clinic_a, admission_id="ZY-2026-0042")
        checkup = add_study(use_database, consortium.clinic_b, patient_type="体检")
        walk_in = add_study(use_database, consortium.clinic_b)

        rows = _page(api, consortium.radiologist)
        assert {rows[str(i.id)]["patient_type"] for i in (emergency, inpatient)} == {
            "emergency",
            "inpatient",
        }
        assert rows[str(checkup.id)]["patient_type"] == "health_check"
        assert rows[str(walk_in.id)]["patient_type"] == "outpatient"
        assert rows[str(emergency.id)]["sla_category"].startswith("emergency")
        assert "STAT" in rows[str(emergency.id)]["priority_reason"]
        for kind, item in (
            ("emergency", emergency),
            ("inpatient", inpatient),
            ("health_check", checkup),
            ("outpatient", walk_in),
        ):
            assert set(_page(api, consortium.radiologist, patient_type=kind)) == {str(item.id)}
