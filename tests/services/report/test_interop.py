"""HL7 v2.5.1 ORU^R01 and FHIR R4 DiagnosticReport of a signed report, each parsed back with an
independent library (python-hl7; fhir.resources) and checked field by field."""

from __future__ import annotations

import base64
import hashlib
import uuid

import hl7
import pytest
from fhir.resources.R4B.diagnosticreport import DiagnosticReport
from fhir.resources.R4B.imagingstudy import ImagingStudy
from fhir.resources.R4B.patient import Patient

from services.kit.db import session_scope
from services.kit.settings import get_settings
from services.models import Report, Study
from services.report.rendering import render_and_store
from tests.factories import study as study_factory
from tests.factories import tenant as tenant_factory
from tests.factories.tenant import Consortium
from tests.fixtures.api_client import Api
from tests.fixtures.databases import Database
from tests.services.test_api_flow import _claim

pytestmark = pytest.mark.integration

FINDINGS = "右肺上叶见结节影|边界清^晰\n心影不大"  # delimiters on purpose: they must be escaped
IMPRESSION = "右肺上叶结节，建议随访 & 复查"


@pytest.fixture
def signed(api: Api, consortium: Consortium, use_database: Database) -> tuple[Study, Report]:
    with session_scope(use_database.factory) as session:
        study, _ = study_factory.register_study(session, clinic=consortium.clinic_a)
    reader = consortium.radiologist
    assert _claim(api, reader, study).status_code == 200
    body = {"findings": FINDINGS, "impression": IMPRESSION, "language": "zh-CN"}
    assert api.put(reader, f"/api/v1/studies/{study.id}/report/draft", body).status_code == 200
    response = api.post(reader, f"/api/v1/studies/{study.id}/report/sign")
    assert response.status_code == 200, response.text
    report_id = uuid.UUID(response.json()["id"])
    with session_scope(use_database.factory) as session:
        render_and_store(session, get_settings(), report_id=report_id)
    with use_database.factory() as session:
        report = session.get(Report, report_id)
        assert report is not None
        return study, report


class TestHl7Oru:
    def test_parses_back_with_python_hl7(
        self, api: Api, consortium: Consortium, signed: tuple[Study, Report]
    ) -> None:
        study, _report = signed
        response = api.get(consortium.clinic_staff, f"/api/v1/studies/{study.id}/report/hl7")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("x-application/hl7-v2+er7")
        message = hl7.parse(response.content.decode("utf-8"))

        msh = message.segment("MSH")
        assert str(msh[9]) == "ORU^R01^ORU_R01"
        assert str(msh[12]) == "2.5.1"
        assert str(msh[18]) == "UNICODE UTF-8"
        pid = message.segment("PID")
        assert str(pid[3][0][0]) == study.patient_id
        assert str(pid[3][0][3]) == study.patient_id_issuer
        obr = message.segment("OBR")
        assert str(obr[3]) == (study.accession_number or study.study_instance_uid)
        assert str(obr[25]) == "F"
        text_obx = [s for s in message.segments("OBX") if str(s[2]) == "TX"]
        findings = [message.unescape(str(s[5])) for s in text_obx if str(s[3][0][0]) == "GDT"]
        impression = [message.unescape(str(s[5])) for s in text_obx if str(s[3][0][0]) == "IMP"]
        assert findings == FINDINGS.splitlines()
        assert impression == [IMPRESSION]

    def test_carries_the_signed_pdf(
        self, api: Api, consortium: Consortium, signed: tuple[Study, Report]
    ) -> None:
        study, report = signed
        message = hl7.parse(
            api.get(
                consortium.clinic_staff, f"/api/v1/studies/{study.id}/report/hl7"
            ).content.decode()
        )
        (ed,) = [s for s in message.segments("OBX") if str(s[2]) == "ED"]
        assert str(ed[5][0][3]) == "Base64"
        pdf = base64.b64decode(str(ed[5][0][4]))
        assert hashlib.sha256(pdf).hexdigest() == report.pdf_sha256


class TestFhirDiagnosticReport:
    def test_validates_with_fhir_resources(
        self, api: Api, consortium: Consortium, signed: tuple[Study, Report]
    ) -> None:
        study, report = signed
        response = api.get(consortium.clinic_staff, f"/api/v1/studies/{study.id}/report/fhir")
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/fhir+json"
        resource = DiagnosticReport.model_validate(response.json())
        assert resource.status == "final"
        assert resource.conclusion == IMPRESSION
        assert resource.code.coding is not None
        assert resource.code.coding[0].code == "18748-4"
        assert resource.imagingStudy is not None
        assert resource.imagingStudy[0].reference == "#study"
        assert resource.contained is not None
        contained = {c.id: c for c in resource.contained}
        imaging_study, patient = contained["study"], contained["patient"]
        assert isinstance(imaging_study, ImagingStudy) and imaging_study.identifier is not None
        assert imaging_study.identifier[0].value == f"urn:oid:{study.study_instance_uid}"
        assert isinstance(patient, Patient) and patient.identifier is not None
        assert patient.identifier[0].value == study.patient_id
        assert resource.presentedForm is not None
        pdf = resource.presentedForm[0].data  # fhir.resources decodes base64Binary itself
        assert isinstance(pdf, bytes)
        assert hashlib.sha256(pdf).hexdigest() == report.pdf_sha256

    def test_other_consortium_gets_404(
        self, api: Api, signed: tuple[Study, Report], use_database: Database
    ) -> None:
        study, _ = signed
        other = tenant_factory.build_consortium(use_database.factory)
        for kind in ("fhir", "hl7"):
            response = api.get(other.clinic_staff, f"/api/v1/studies/{study.id}/report/{kind}")
            assert response.status_code == 404

    def test_unsigned_report_is_not_exported(
        self, api: Api, consortium: Consortium, use_database: Database
    ) -> None:
        with session_scope(use_database.factory) as session:
            study, _ = study_factory.register_study(session, clinic=consortium.clinic_a)
        response = api.get(consortium.clinic_staff, f"/api/v1/studies/{study.id}/report/fhir")
        assert response.status_code == 404
        assert "no signed report" in response.json()["message"]
