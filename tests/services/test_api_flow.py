"""The reading flow over HTTP: who sees a clinic's study, claims, reports and downloads it."""

from __future__ import annotations

import io
import uuid
from typing import Any

import pytest
from httpx import Response
from pypdf import PdfReader
from sqlalchemy import select

from services.contracts.task_names import QUEUE_DEFAULT, RENDER_REPORT_PDF
from services.kit import db as kit_db
from services.kit.db import OutboxMessage, session_scope
from services.kit.settings import get_settings
from services.models import AuditEvent, Study
from services.report.rendering import render_and_store
from tests.factories import study as study_factory
from tests.factories.tenant import Account, Consortium
from tests.fixtures.api_client import Api
from tests.fixtures.databases import Database

pytestmark = pytest.mark.integration

FINDINGS = "Both lungs are clear. Heart size is normal."
IMPRESSION = "No acute cardiopulmonary abnormality."
DRAFT = {"findings": FINDINGS, "impression": IMPRESSION, "language": "en"}


@pytest.fixture
def study(use_database: Database, consortium: Consortium) -> Study:
    """A CT study sent by clinic A, on the county hospital's worklist."""
    with session_scope(use_database.factory) as session:
        registered, _ = study_factory.register_study(session, clinic=consortium.clinic_a)
    kit_db.PUBLISHER.sent.clear()
    return registered


def _study_url(study: Study) -> str:
    return f"/api/v1/studies/{study.id}"


def _worklist_entry(api: Api, reader: Account, study: Study) -> dict[str, Any]:
    entries = api.get(reader, "/api/v1/worklist").json()["items"]
    (entry,) = [e for e in entries if e["study_id"] == str(study.id)]
    assert isinstance(entry, dict)
    return entry


def _claim(api: Api, reader: Account, study: Study) -> Response:
    item_id = _worklist_entry(api, reader, study)["id"]
    return api.post(reader, f"/api/v1/worklist/{item_id}/claim")


def _sign(api: Api, reader: Account, study: Study) -> Response:
    assert _claim(api, reader, study).status_code == 200
    assert api.put(reader, f"{_study_url(study)}/report/draft", DRAFT).status_code == 200
    return api.post(reader, f"{_study_url(study)}/report/sign")


def _assert_error(response: Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error", "message", "correlation_id"}
    assert body["error"] == code


def _denied_reads(db: Database, account: Account, study: Study) -> list[AuditEvent]:
    with db.factory() as session:
        stmt = select(AuditEvent).where(
            AuditEvent.actor == f"user:{account.user_id}",
            AuditEvent.object_id == str(study.id),
            AuditEvent.outcome == "denied",
        )
        return list(session.scalars(stmt))


class TestStudyVisibility:
    def test_clinic_staff_lists_own_clinic_study(
        self, api: Api, consortium: Consortium, study: Study
    ) -> None:
        response = api.get(consortium.clinic_staff, "/api/v1/studies")

        assert response.status_code == 200
        (listed,) = response.json()
        assert listed["id"] == str(study.id)
        assert (listed["patient_id"], listed["modality"], listed["status"]) == (
            "1CT1",
            "CT",
            "UNREAD",
        )

    def test_clinic_staff_reads_own_clinic_study(
        self, api: Api, consortium: Consortium, study: Study
    ) -> None:
        response = api.get(consortium.clinic_staff, _study_url(study))

        assert response.status_code == 200
        detail = response.json()
        assert detail["study_instance_uid"] == study.study_instance_uid
        assert detail["ai_status"] == "AI_PENDING"
        assert [s["modality"] for s in detail["series"]] == ["CT"]
        assert (detail["findings"], detail["report_status"], detail["report_pdf_available"]) == (
            [],
            None,
            False,
        )

    def test_reading_hospital_radiologist_reads_it(
        self, api: Api, consortium: Consortium, study: Study
    ) -> None:
        assert api.get(consortium.radiologist, _study_url(study)).status_code == 200

    def test_consortium_admin_reads_it(
        self, api: Api, consortium: Consortium, study: Study
    ) -> None:
        assert api.get(consortium.consortium_admin, _study_url(study)).status_code == 200

    def test_other_clinic_gets_404_not_403(
        self, api: Api, consortium: Consortium, study: Study
    ) -> None:
        _assert_error(api.get(consortium.clinic_b_staff, _study_url(study)), 404, "study_not_found")

    def test_other_clinic_gets_the_same_answer_as_for_a_missing_study(
        self, api: Api, consortium: Consortium, study: Study
    ) -> None:
        foreign = api.get(consortium.clinic_b_staff, _study_url(study)).json()
        missing = api.get(consortium.clinic_b_staff, f"/api/v1/studies/{uuid.uuid4()}").json()
        assert (foreign["error"], foreign["message"]) == (missing["error"], missing["message"])

    def test_other_clinic_does_not_list_it(
        self, api: Api, consortium: Consortium, study: Study
    ) -> None:
        response = api.get(consortium.clinic_b_staff, "/api/v1/studies")

        assert response.status_code == 200
        assert response.json() == []

    @pytest.mark.parametrize("role", ["clinic_staff", "radiologist", "consortium_admin"])
    def test_other_consortium_gets_404_by_id(
        self, api: Api, other: Consortium, study: Study, role: str
    ) -> None:
        account: Account = getattr(other, role)
        _assert_error(api.get(account, _study_url(study)), 404, "study_not_found")

    @pytest.mark.parametrize("role", ["clinic_staff", "consortium_admin"])
    def test_other_consortium_lists_nothing(
        self, api: Api, other: Consortium, study: Study, role: str
    ) -> None:
        assert api.get(getattr(other, role), "/api/v1/studies").json() == []

    def test_other_consortium_radiologist_has_an_empty_worklist(
        self, api: Api, other: Consortium, study: Study
    ) -> None:
        assert api.get(other.radiologist, "/api/v1/worklist").json()["items"] == []

    def test_platform_admin_gets_403(self, api: Api, consortium: Consortium, study: Study) -> None:
        _assert_error(api.get(consortium.platform_admin, "/api/v1/studies"), 403, "forbidden")

    def test_denied_read_leaves_an_audit_event(
        self, api: Api, use_database: Database, consortium: Consortium, study: Study
    ) -> None:
        api.get(consortium.clinic_b_staff, _study_url(study))

        (event,) = _denied_reads(use_database, consortium.clinic_b_staff, study)
        assert (event.action, event.object_type, event.tenant_id) == (
            "study.read",
            "study",
            consortium.tenant_id,
        )

    def test_denied_read_by_another_consortium_is_audited_in_its_own_tenant(
        self, api: Api, use_database: Database, other: Consortium, study: Study
    ) -> None:
        api.get(other.clinic_staff, _study_url(study))

        (event,) = _denied_reads(use_database, other.clinic_staff, study)
        assert (event.action, event.tenant_id) == ("study.read", other.tenant_id)


class TestWorklist:
    def test_radiologist_sees_study_with_reason_and_ai_pending(
        self, api: Api, consortium: Consortium, study: Study
    ) -> None:
        entry = _worklist_entry(api, consortium.radiologist, study)

        assert entry["ai_flag"] == "AI_PENDING"
        assert entry["status"] == "UNREAD"
        assert entry["priority_reason"].startswith("AI pending; due in ")
        assert entry["priority"] > 0
        assert entry["clinic_org_id"] == str(consortium.clinic_a.id)
        assert entry["due_at"] is not None

    def test_clinic_staff_cannot_see_the_worklist(
        self, api: Api, consortium: Consortium, study: Study
    ) -> None:
        _assert_error(api.get(consortium.clinic_staff, "/api/v1/worklist"), 403, "forbidden")

    def test_claim_marks_study_claimed(
        self, api: Api, consortium: Consortium, study: Study
    ) -> None:
        response = _claim(api, consortium.radiologist, study)

        assert response.status_code == 200
        item = response.json()
        assert (item["status"], item["claimed_by_id"]) == (
            "CLAIMED",
            str(consortium.radiologist.user_id),
        )
        assert item["lock_expires_at"] is not None
        assert api.get(consortium.clinic_staff, _study_url(study)).json()["status"] == "CLAIMED"

    def test_second_radiologist_claim_is_409_already_claimed(
        self, api: Api, consortium: Consortium, study: Study
    ) -> None:
        assert _claim(api, consortium.radiologist, study).status_code == 200
        item_id = api.get(consortium.radiologist, "/api/v1/worklist?status=CLAIMED").json()[
            "items"
        ][0]["id"]

        response = api.post(consortium.senior_radiologist, f"/api/v1/worklist/{item_id}/claim")

        _assert_error(response, 409, "already_claimed")

    def test_clinic_staff_claim_is_403(
        self, api: Api, consortium: Consortium, study: Study
    ) -> None:
        item_id = _worklist_entry(api, consortium.radiologist, study)["id"]

        response = api.post(consortium.clinic_staff, f"/api/v1/worklist/{item_id}/claim")

        _assert_error(response, 403, "forbidden")

    def test_other_consortium_radiologist_claim_is_404(
        self, api: Api, consortium: Consortium, other: Consortium, study: Study
    ) -> None:
        item_id = _worklist_entry(api, consortium.radiologist, study)["id"]

        response = api.post(other.radiologist, f"/api/v1/worklist/{item_id}/claim")

        _assert_error(response, 404, "worklist_item_not_found")

    def test_release_puts_the_study_back_in_the_queue(
        self, api: Api, consortium: Consortium, study: Study
    ) -> None:
        item_id = _claim(api, consortium.radiologist, study).json()["id"]

        response = api.post(consortium.radiologist, f"/api/v1/worklist/{item_id}/release")

        assert response.status_code == 200
        assert (response.json()["status"], response.json()["claimed_by_id"]) == ("UNREAD", None)
        assert api.get(consortium.clinic_staff, _study_url(study)).json()["status"] == "UNREAD"


class TestReport:
    def test_draft_without_holding_the_claim_is_409(
        self, api: Api, consortium: Consortium, study: Study
    ) -> None:
        response = api.put(consortium.radiologist, f"{_study_url(study)}/report/draft", DRAFT)
        _assert_error(response, 409, "not_claimed_by_you")

    def test_draft_on_a_study_claimed_by_another_radiologist_is_409(
        self, api: Api, consortium: Consortium, study: Study
    ) -> None:
        assert _claim(api, consortium.radiologist, study).status_code == 200
        url = f"{_study_url(study)}/report/draft"
        _assert_error(api.put(consortium.senior_radiologist, url, DRAFT), 409, "not_claimed_by_you")

    def test_draft_with_server_owned_field_is_422(
        self, api: Api, consortium: Consortium, study: Study
    ) -> None:
        assert _claim(api, consortium.radiologist, study).status_code == 200
        body = {**DRAFT, "status": "FINAL"}

        response = api.put(consortium.radiologist, f"{_study_url(study)}/report/draft", body)

        _assert_error(response, 422, "invalid_request")
        assert "status" in response.json()["message"]

    def test_clinic_does_not_see_a_draft(
        self, api: Api, consortium: Consortium, study: Study
    ) -> None:
        assert _claim(api, consortium.radiologist, study).status_code == 200
        url = f"{_study_url(study)}/report"
        assert api.put(consortium.radiologist, f"{url}/draft", DRAFT).status_code == 200

        _assert_error(api.get(consortium.clinic_staff, url), 404, "report_not_found")
        assert api.get(consortium.radiologist, url).json()["status"] == "DRAFT"

    def test_sign_makes_report_final_and_study_reported(
        self, api: Api, consortium: Consortium, study: Study
    ) -> None:
        response = _sign(api, consortium.radiologist, study)

        assert response.status_code == 200
        report = response.json()
        assert report["status"] == "FINAL"
        assert len(report["content_sha256"]) == 64
        assert report["signed_at"] is not None
        assert (report["findings"], report["impression"]) == (FINDINGS, IMPRESSION)
        detail = api.get(consortium.clinic_staff, _study_url(study)).json()
        assert (detail["status"], detail["report_status"]) == ("REPORTED", "FINAL")

    def test_sign_queues_the_pdf_rendering_after_commit(
        self, api: Api, consortium: Consortium, study: Study
    ) -> None:
        report = _sign(api, consortium.radiologist, study).json()

        assert OutboxMessage(RENDER_REPORT_PDF, {"report_id": report["id"]}, QUEUE_DEFAULT) in (
            kit_db.PUBLISHER.sent
        )

    def test_signing_again_is_409_and_changes_nothing(
        self, api: Api, consortium: Consortium, study: Study
    ) -> None:
        signed = _sign(api, consortium.radiologist, study).json()

        again = api.post(consortium.radiologist, f"{_study_url(study)}/report/sign")

        assert again.status_code == 409
        current = api.get(consortium.clinic_staff, f"{_study_url(study)}/report").json()
        assert (current["content_sha256"], current["signed_at"]) == (
            signed["content_sha256"],
            signed["signed_at"],
        )

    def test_pdf_is_404_until_it_is_rendered(
        self, api: Api, consortium: Consortium, study: Study
    ) -> None:
        assert _sign(api, consortium.radiologist, study).status_code == 200

        response = api.get(consortium.clinic_staff, f"{_study_url(study)}/report.pdf")

        _assert_error(response, 404, "report_not_found")
        assert "being prepared" in response.json()["message"]

    def test_clinic_downloads_the_rendered_pdf(
        self, api: Api, consortium: Consortium, study: Study
    ) -> None:
        report_id = uuid.UUID(_sign(api, consortium.radiologist, study).json()["id"])
        _render_like_the_worker(report_id)

        response = api.get(consortium.clinic_staff, f"{_study_url(study)}/report.pdf")

        assert response.status_code == 200
        assert response.headers["content-type"] == "application/pdf"
        assert "attachment" in response.headers["content-disposition"]
        text = "\n".join(
            page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages
        )
        assert IMPRESSION in text
        assert api.get(consortium.clinic_staff, _study_url(study)).json()["report_pdf_available"]

    def test_rendering_twice_does_nothing_the_second_time(
        self, api: Api, consortium: Consortium, study: Study
    ) -> None:
        report_id = uuid.UUID(_sign(api, consortium.radiologist, study).json()["id"])
        assert _render_like_the_worker(report_id) is True
        assert _render_like_the_worker(report_id) is False

    def test_other_clinic_gets_404_for_the_pdf(
        self, api: Api, use_database: Database, consortium: Consortium, study: Study
    ) -> None:
        report_id = uuid.UUID(_sign(api, consortium.radiologist, study).json()["id"])
        _render_like_the_worker(report_id)

        response = api.get(consortium.clinic_b_staff, f"{_study_url(study)}/report.pdf")

        _assert_error(response, 404, "study_not_found")
        assert _denied_reads(use_database, consortium.clinic_b_staff, study)


def _render_like_the_worker(report_id: uuid.UUID) -> bool:
    with session_scope() as session:
        return render_and_store(session, get_settings(), report_id=report_id)
