"""Real signatures: a consortium CA, a radiologist's key, a CMS over the content, PAdES in the PDF.

Any change to the stored report or its PDF makes verification fail, through the API and the CLI.
"""

from __future__ import annotations

import uuid

import pytest
from typer.testing import CliRunner

from services.cli.app import _add_groups
from services.cli.app import app as cli_app
from services.kit.db import session_scope
from services.kit.settings import get_settings
from services.models import Report, Study
from services.report.rendering import render_and_store
from services.report.storage import object_store
from tests.factories import study as study_factory
from tests.factories import tenant as tenant_factory
from tests.factories.tenant import Consortium
from tests.fixtures.api_client import Api
from tests.fixtures.databases import Database
from tests.services.test_api_flow import _sign

pytestmark = pytest.mark.integration


@pytest.fixture
def signed(api: Api, consortium: Consortium, use_database: Database) -> tuple[Study, Report]:
    """A study whose report is signed and whose signed PDF is rendered and stored."""
    with session_scope(use_database.factory) as session:
        study, _ = study_factory.register_study(session, clinic=consortium.clinic_a)
    response = _sign(api, consortium.radiologist, study)
    assert response.status_code == 200, response.text
    report_id = uuid.UUID(response.json()["id"])
    with session_scope(use_database.factory) as session:
        assert render_and_store(session, get_settings(), report_id=report_id)
    with use_database.factory() as session:
        report = session.get(Report, report_id)
        assert report is not None
        return study, report


def _verification(api: Api, consortium: Consortium, study: Study) -> dict[str, object]:
    response = api.get(consortium.clinic_staff, f"/api/v1/studies/{study.id}/report/verification")
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


class TestSignedReport:
    def test_signed_report_and_pdf_verify(
        self, api: Api, consortium: Consortium, signed: tuple[Study, Report]
    ) -> None:
        study, report = signed
        body = _verification(api, consortium, study)
        assert body["valid"] is True, body
        assert "Test radiologist" in str(body["content_signature"])
        assert report.content_signature is not None
        assert report.signer_identity_id is not None

    def test_pdf_carries_a_pades_signature(self, signed: tuple[Study, Report]) -> None:
        _, report = signed
        assert report.pdf_key is not None
        pdf = object_store(get_settings()).get(report.pdf_key)
        assert b"/ETSI.CAdES.detached" in pdf
        assert b"/ByteRange" in pdf

    def test_changed_report_text_fails_verification(
        self, api: Api, consortium: Consortium, signed: tuple[Study, Report], use_database: Database
    ) -> None:
        study, report = signed
        with session_scope(use_database.factory) as session:
            stored = session.get(Report, report.id)
            assert stored is not None
            stored.impression = "No abnormality (silently edited)."
        body = _verification(api, consortium, study)
        assert body["valid"] is False
        assert body["content_hash"] == {
            "valid": False,
            "detail": "content was changed",
            "signer": "",
        }
        assert body["content_signature"]["valid"] is False  # type: ignore[index]
        assert body["pdf_signature"]["valid"] is True  # type: ignore[index]

    def test_changed_pdf_fails_verification(
        self, api: Api, consortium: Consortium, signed: tuple[Study, Report]
    ) -> None:
        study, report = signed
        assert report.pdf_key is not None
        store = object_store(get_settings())
        pdf = bytearray(store.get(report.pdf_key))
        at = pdf.index(b"/Title")
        pdf[at + 8] = ord("X") if pdf[at + 8] != ord("X") else ord("Y")
        store.put(report.pdf_key, bytes(pdf), "application/pdf")
        body = _verification(api, consortium, study)
        assert body["valid"] is False
        assert body["pdf_hash"]["valid"] is False  # type: ignore[index]
        assert body["pdf_signature"]["detail"] == "the PDF was changed after signing"  # type: ignore[index]
        assert body["content_signature"]["valid"] is True  # type: ignore[index]

    def test_other_consortium_cannot_verify(
        self, api: Api, signed: tuple[Study, Report], use_database: Database
    ) -> None:
        study, _ = signed
        other = tenant_factory.build_consortium(use_database.factory)
        response = api.get(other.clinic_staff, f"/api/v1/studies/{study.id}/report/verification")
        assert response.status_code == 404

    def test_cli_verifies_and_reports_tampering(
        self, signed: tuple[Study, Report], use_database: Database
    ) -> None:
        _, report = signed
        _add_groups()
        runner = CliRunner()
        ok = runner.invoke(cli_app, ["report", "verify", str(report.id)])
        assert ok.exit_code == 0, ok.output
        assert "VALID" in ok.output
        with session_scope(use_database.factory) as session:
            stored = session.get(Report, report.id)
            assert stored is not None
            stored.findings = stored.findings + " "
        bad = runner.invoke(cli_app, ["report", "verify", str(report.id)])
        assert bad.exit_code == 1
        assert "FAIL content_hash" in bad.output
