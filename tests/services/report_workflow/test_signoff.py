"""Double signing (双签): author signs, a senior countersigns; both names and times travel out."""

from __future__ import annotations

import io
import uuid
from typing import Any

import hl7
import pytest
from fhir.resources.R4B.diagnosticreport import DiagnosticReport
from pypdf import PdfReader
from sqlalchemy import select

from services.kit.db import session_scope
from services.kit.settings import get_settings
from services.models import AuditEvent, Report, Study
from services.report.rendering import render_and_store
from services.report.storage import object_store
from tests.factories import study as study_factory
from tests.factories import tenant as tenant_factory
from tests.factories.tenant import Consortium
from tests.fixtures.api_client import Api
from tests.fixtures.databases import Database
from tests.services.report_workflow.steps import assert_error, report_url
from tests.services.test_api_flow import DRAFT, _claim


def _policy(api: Api, consortium: Consortium, *, double: bool, emergency: bool = True) -> None:
    response = api.put(
        consortium.consortium_admin,
        "/api/v1/report-policy",
        {"double_signature": double, "emergency_single_signature": emergency},
    )
    assert response.status_code == 200, response.text


def _author_signs(
    api: Api, consortium: Consortium, study: Study, body: dict[str, Any] | None = None
):
    assert api.put(consortium.radiologist, report_url(study, "/draft"), DRAFT).status_code == 200
    return api.post(consortium.radiologist, report_url(study, "/sign"), body)


@pytest.fixture
def double(api: Api, consortium: Consortium) -> None:
    _policy(api, consortium, double=True)


class TestDoubleSignature:
    def test_author_signature_is_preliminary_until_a_senior_countersigns(
        self, api: Api, consortium: Consortium, claimed: Study, double: None
    ) -> None:
        signed = _author_signs(api, consortium, claimed)
        queue = api.get(consortium.senior_radiologist, "/api/v1/report-review").json()
        final = api.post(consortium.senior_radiologist, report_url(claimed, "/countersign"))

        assert (signed.json()["status"], signed.json()["hl7_status"]) == ("PRELIMINARY", "P")
        assert [q["study_id"] for q in queue] == [str(claimed.id)]
        assert final.status_code == 200, final.text
        body = final.json()
        assert (body["status"], body["hl7_status"], body["fhir_status"]) == ("FINAL", "F", "final")
        assert body["cosigner_id"] == str(consortium.senior_radiologist.user_id)
        assert body["cosigned_at"] is not None

    def test_both_signers_and_times_in_hl7_fhir_and_pdf(
        self,
        api: Api,
        consortium: Consortium,
        claimed: Study,
        double: None,
        use_database: Database,
    ) -> None:
        report_id = _author_signs(api, consortium, claimed).json()["id"]
        api.post(consortium.senior_radiologist, report_url(claimed, "/countersign"))
        with session_scope(use_database.factory) as session:
            assert render_and_store(session, get_settings(), report_id=uuid.UUID(report_id))
            report = session.get(Report, uuid.UUID(report_id))
            assert report is not None and report.cosigned_at and report.signed_at
            key, signed_at, cosigned_at = report.pdf_key, report.signed_at, report.cosigned_at

        message = hl7.parse(api.get(consortium.clinic_staff, report_url(claimed, "/hl7")).text)
        obr = message.segment("OBR")
        assert str(obr[25]) == "F"
        assert str(obr[32]).startswith(f"{consortium.senior_radiologist.user_id}&Test senior")
        assert str(obr[32][0][1]) == cosigned_at.strftime("%Y%m%d%H%M+0000")
        assert str(obr[33]).startswith(f"{consortium.radiologist.user_id}&Test radiologist")
        assert str(obr[33][0][1]) == signed_at.strftime("%Y%m%d%H%M+0000")

        fhir = api.get(consortium.clinic_staff, report_url(claimed, "/fhir")).json()
        parsed = DiagnosticReport.model_validate(fhir)
        assert parsed.status == "final"
        assert parsed.resultsInterpreter is not None
        assert len(parsed.resultsInterpreter) == 2
        times = {
            parts["role"]["valueCode"]: parts["time"]["valueDateTime"]
            for parts in ({e["url"]: e for e in ext["extension"]} for ext in fhir["extension"])
        }
        assert parsed.extension is not None
        assert len(parsed.extension) == 2
        assert times["reviewer"] == cosigned_at.strftime("%Y-%m-%dT%H:%M:00+00:00")
        assert times["author"] == signed_at.strftime("%Y-%m-%dT%H:%M:00+00:00")

        assert key is not None
        text = PdfReader(io.BytesIO(object_store(get_settings()).get(key)))
        page = "".join(p.extract_text() for p in text.pages)
        assert "Test radiologist" in page and "Test senior" in page
        assert "审核医师" in page or "Reviewed by" in page

    def test_countersignature_verifies_and_tampering_fails(
        self,
        api: Api,
        consortium: Consortium,
        claimed: Study,
        double: None,
        use_database: Database,
    ) -> None:
        report_id = uuid.UUID(_author_signs(api, consortium, claimed).json()["id"])
        api.post(consortium.senior_radiologist, report_url(claimed, "/countersign"))
        with session_scope(use_database.factory) as session:
            render_and_store(session, get_settings(), report_id=report_id)
        url = report_url(claimed, "/versions/1/verification")

        good = api.get(consortium.clinic_staff, url).json()
        with session_scope(use_database.factory) as session:
            stored = session.get(Report, report_id)
            assert stored is not None
            stored.cosigner_id = consortium.radiologist.user_id  # pretend someone else reviewed
        bad = api.get(consortium.clinic_staff, url).json()

        assert good["valid"] is True, good
        assert good["countersignature"]["valid"] is True
        assert "Test senior" in good["countersignature"]["signer"]
        pdf_check = good["pdf_signature"]
        assert pdf_check["detail"] == "2 PDF signatures valid"  # author, then reviewer (PAdES)
        assert "Test radiologist" in pdf_check["signer"]
        assert "Test senior" in pdf_check["signer"]
        assert bad["valid"] is False
        assert bad["countersignature"]["valid"] is False

    def test_a_radiologist_who_is_not_senior_cannot_countersign(
        self, api: Api, consortium: Consortium, use_database: Database, double: None
    ) -> None:
        (junior,) = tenant_factory.add_radiologists(use_database.factory, consortium, 1)
        with session_scope(use_database.factory) as session:
            study, _ = study_factory.register_study(session, clinic=consortium.clinic_a)
        assert _claim(api, junior, study).status_code == 200
        api.put(junior, report_url(study, "/draft"), DRAFT)
        api.post(junior, report_url(study, "/sign"))
        own = api.post(junior, report_url(study, "/countersign"))

        assert_error(own, 403, "forbidden")  # a radiologist is not a senior at all
        assert api.get(junior, report_url(study)).json()["status"] == "PRELIMINARY"

    def test_senior_cannot_countersign_a_report_they_wrote(
        self, api: Api, consortium: Consortium, claimed: Study, double: None, use_database: Database
    ) -> None:
        _author_signs(api, consortium, claimed)
        with session_scope(use_database.factory) as session:
            report = session.scalars(select(Report).where(Report.study_id == claimed.id)).one()
            report.author_id = consortium.senior_radiologist.user_id  # the senior was the author

        own = api.post(consortium.senior_radiologist, report_url(claimed, "/countersign"))

        body = assert_error(own, 409, "sign_off_refused")
        assert "a different senior radiologist must countersign" in body["message"]
        with use_database.factory() as session:
            report = session.scalars(select(Report).where(Report.study_id == claimed.id)).one()
            assert (report.status, report.cosigner_id) == ("PRELIMINARY", None)

    def test_countersigning_a_final_report_is_refused(
        self, api: Api, consortium: Consortium, claimed: Study
    ) -> None:
        assert _author_signs(api, consortium, claimed).json()["status"] == "FINAL"

        again = api.post(consortium.senior_radiologist, report_url(claimed, "/countersign"))

        assert_error(again, 409, "sign_off_refused")

    def test_other_consortium_cannot_countersign(
        self, api: Api, consortium: Consortium, claimed: Study, double: None, use_database: Database
    ) -> None:
        _author_signs(api, consortium, claimed)
        other = tenant_factory.build_consortium(use_database.factory)

        response = api.post(other.senior_radiologist, report_url(claimed, "/countersign"))
        queue = api.get(other.senior_radiologist, "/api/v1/report-review").json()

        assert response.status_code == 404
        assert queue == []


class TestEmergencyDuty:
    def test_single_signature_finalizes_and_is_audited(
        self, api: Api, consortium: Consortium, claimed: Study, double: None, use_database: Database
    ) -> None:
        signed = _author_signs(
            api, consortium, claimed, {"emergency_reason": "Night duty, no senior on site"}
        )

        assert signed.status_code == 200, signed.text
        assert (signed.json()["status"], signed.json()["emergency_reason"]) == (
            "FINAL",
            "Night duty, no senior on site",
        )
        with use_database.factory() as session:
            events = session.scalars(
                select(AuditEvent).where(
                    AuditEvent.study_id == claimed.id,
                    AuditEvent.action == "report.emergency_single_signature",
                )
            ).all()
        assert [e.detail["reason"] for e in events] == ["Night duty, no senior on site"]

    def test_consortium_without_the_exception_refuses_it(
        self, api: Api, consortium: Consortium, claimed: Study
    ) -> None:
        _policy(api, consortium, double=True, emergency=False)

        refused = _author_signs(api, consortium, claimed, {"emergency_reason": "Night duty"})

        body = assert_error(refused, 409, "sign_off_refused")
        assert "ask a senior radiologist to countersign" in body["message"]
        assert api.get(consortium.radiologist, report_url(claimed)).json()["status"] == "DRAFT"

    def test_policy_is_per_consortium_and_admin_only(
        self, api: Api, consortium: Consortium, use_database: Database
    ) -> None:
        _policy(api, consortium, double=True)
        other = tenant_factory.build_consortium(use_database.factory)

        mine = api.get(consortium.consortium_admin, "/api/v1/report-policy").json()
        theirs = api.get(other.consortium_admin, "/api/v1/report-policy").json()
        by_reader = api.put(
            consortium.radiologist, "/api/v1/report-policy", {"double_signature": False}
        )

        assert mine["double_signature"] is True
        assert theirs["double_signature"] is False
        assert_error(by_reader, 403, "forbidden")
