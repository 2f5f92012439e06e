"""Signing through a CA's remote signing service (CSC API v2), a real HTTP peer in the test.

The consortium imports its CA certificate, switches to remote signing and binds the radiologist
to a credential; the signed report and PDF then verify through the API and the CLI, exactly as
locally signed ones. A refused or unreachable service leaves the report unsigned.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from services.cli.app import _add_groups
from services.cli.app import app as cli_app
from services.kit.db import session_scope
from services.kit.settings import get_settings
from services.models import AuditEvent, Report, Study
from services.report.rendering import render_and_store
from services.report.signing.exceptions import RemoteSigningFailed
from services.report.storage import object_store
from tests.factories import study as study_factory
from tests.factories.tenant import Consortium
from tests.fixtures.api_client import Api
from tests.fixtures.databases import Database
from tests.services.report import signing_ca
from tests.services.report.csc_peer import CLIENT_ID, CLIENT_SECRET, CscPeer, serve
from tests.services.test_api_flow import _sign

pytestmark = pytest.mark.integration
CREDENTIAL = "cred-radiologist-1"


@pytest.fixture
def ca() -> signing_ca.Issued:
    return signing_ca.authority()


@pytest.fixture
def peer(ca: signing_ca.Issued, monkeypatch: pytest.MonkeyPatch) -> Iterator[CscPeer]:
    """The CA's signing service, and RadBridge configured to use it."""
    credential = (signing_ca.signer(ca, "Dr Remote Reader"), [ca])
    with serve(CscPeer({CREDENTIAL: credential})) as running:
        monkeypatch.setenv("RADBRIDGE_REMOTE_SIGNING__SERVICE_URL", running.url)
        monkeypatch.setenv("RADBRIDGE_REMOTE_SIGNING__CLIENT_ID", CLIENT_ID)
        monkeypatch.setenv("RADBRIDGE_REMOTE_SIGNING__CLIENT_SECRET", CLIENT_SECRET)
        monkeypatch.setenv("RADBRIDGE_REMOTE_SIGNING__TIMEOUT_S", "5")
        get_settings.cache_clear()
        yield running
    get_settings.cache_clear()


@pytest.fixture
def remote(api: Api, consortium: Consortium, ca: signing_ca.Issued, peer: CscPeer) -> Consortium:
    """A consortium that signs remotely, its radiologist bound to ``CREDENTIAL``."""
    admin = consortium.consortium_admin
    body = {"certificate_pem": ca.cert_pem.decode()}
    assert api.put(admin, "/api/v1/signing/authority", body).status_code == 200
    assert api.put(admin, "/api/v1/signing/mode", {"mode": "remote"}).status_code == 200
    bind = {"user_id": str(consortium.radiologist.user_id), "credential_id": CREDENTIAL}
    response = api.post(admin, "/api/v1/signing/identities/remote", bind)
    assert response.status_code == 200, response.text
    assert response.json()["remote"] is True
    assert "Dr Remote Reader" in response.json()["subject"]
    return consortium


def _study(db: Database, consortium: Consortium) -> Study:
    with session_scope(db.factory) as session:
        study, _ = study_factory.register_study(session, clinic=consortium.clinic_a)
    return study


def _latest(db: Database, study: Study) -> Report:
    with db.factory() as session:
        stmt = select(Report).where(Report.study_id == study.id).order_by(Report.version.desc())
        report = session.scalars(stmt).first()
        assert report is not None
        return report


def _verification(api: Api, consortium: Consortium, study: Study) -> dict[str, object]:
    response = api.get(consortium.clinic_staff, f"/api/v1/studies/{study.id}/report/verification")
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


class TestRemoteSigning:
    def test_remotely_signed_report_and_pdf_verify(
        self, api: Api, remote: Consortium, peer: CscPeer, use_database: Database
    ) -> None:
        study = _study(use_database, remote)
        response = _sign(api, remote.radiologist, study)
        assert response.status_code == 200, response.text
        report_id = uuid.UUID(response.json()["id"])
        with session_scope(use_database.factory) as session:
            assert render_and_store(session, get_settings(), report_id=report_id)
        assert peer.calls.count("/csc/v2/signatures/signHash") == 2  # CMS, then PAdES
        body = _verification(api, remote, study)
        assert body["valid"] is True, body
        assert "Dr Remote Reader" in str(body["content_signature"])
        assert "Dr Remote Reader" in str(body["pdf_signature"])

        _add_groups()
        runner = CliRunner()
        ok = runner.invoke(cli_app, ["report", "verify", str(report_id)])
        assert ok.exit_code == 0, ok.output
        assert "VALID" in ok.output

        report = _latest(use_database, study)
        assert report.pdf_key is not None
        store = object_store(get_settings())
        pdf = bytearray(store.get(report.pdf_key))
        at = pdf.index(b"/Title")
        pdf[at + 8] = ord("X") if pdf[at + 8] != ord("X") else ord("Y")
        store.put(report.pdf_key, bytes(pdf), "application/pdf")
        with session_scope(use_database.factory) as session:
            stored = session.get(Report, report_id)
            assert stored is not None
            stored.impression = "Silently edited."
        body = _verification(api, remote, study)
        assert body["valid"] is False
        assert body["content_signature"]["valid"] is False  # type: ignore[index]
        assert body["pdf_signature"]["detail"] == "the PDF was changed after signing"  # type: ignore[index]
        bad = runner.invoke(cli_app, ["report", "verify", str(report_id)])
        assert bad.exit_code == 1
        assert "FAIL content_hash" in bad.output

    def test_double_signature_both_remote(
        self,
        api: Api,
        remote: Consortium,
        peer: CscPeer,
        ca: signing_ca.Issued,
        use_database: Database,
    ) -> None:
        peer.credentials["cred-senior"] = (signing_ca.signer(ca, "Dr Remote Senior"), [ca])
        admin, senior = remote.consortium_admin, remote.senior_radiologist
        bind = {"user_id": str(senior.user_id), "credential_id": "cred-senior"}
        assert api.post(admin, "/api/v1/signing/identities/remote", bind).status_code == 200
        policy = {"double_signature": True, "emergency_single_signature": True}
        assert api.put(admin, "/api/v1/report-policy", policy).status_code == 200
        study = _study(use_database, remote)
        assert _sign(api, remote.radiologist, study).json()["status"] == "PRELIMINARY"
        final = api.post(senior, f"/api/v1/studies/{study.id}/report/countersign")
        assert final.status_code == 200, final.text
        with session_scope(use_database.factory) as session:
            assert render_and_store(
                session, get_settings(), report_id=uuid.UUID(final.json()["id"])
            )
        body = _verification(api, remote, study)
        assert body["valid"] is True, body
        assert body["pdf_signature"]["detail"] == "2 PDF signatures valid"  # type: ignore[index]
        assert "Dr Remote Senior" in str(body["countersignature"])

    def test_a_401_from_the_service_leaves_the_report_unsigned(
        self, api: Api, remote: Consortium, peer: CscPeer, use_database: Database
    ) -> None:
        study = _study(use_database, remote)
        peer.refuse_with = 401
        response = _sign(api, remote.radiologist, study)
        assert response.status_code == 502, response.text
        assert response.json()["error"] == "remote_signing_failed"
        assert "HTTP 401" in response.json()["message"]
        report = _latest(use_database, study)
        assert (report.status, report.content_signature, report.signed_at) == ("DRAFT", None, None)

    def test_a_failure_while_signing_the_pdf_stores_no_pdf(
        self, api: Api, remote: Consortium, peer: CscPeer, use_database: Database
    ) -> None:
        study = _study(use_database, remote)
        response = _sign(api, remote.radiologist, study)
        assert response.status_code == 200, response.text
        peer.refuse_with = 503
        report_id = uuid.UUID(response.json()["id"])
        with (
            pytest.raises(RemoteSigningFailed, match="HTTP 503"),  # the task retries this
            session_scope(use_database.factory) as session,
        ):
            render_and_store(session, get_settings(), report_id=report_id)
        report = _latest(use_database, study)
        assert (report.status, report.pdf_key) == ("FINAL", None)
        assert report.content_signature is not None

    def test_an_unreachable_service_leaves_the_report_unsigned(
        self,
        api: Api,
        remote: Consortium,
        use_database: Database,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        study = _study(use_database, remote)
        with serve(CscPeer({})) as stopped_later:
            closed = stopped_later.url  # this port is closed once the block ends
        monkeypatch.setenv("RADBRIDGE_REMOTE_SIGNING__SERVICE_URL", closed)
        get_settings.cache_clear()
        response = _sign(api, remote.radiologist, study)
        assert response.status_code == 502, response.text
        assert "unreachable" in response.json()["message"]
        assert _latest(use_database, study).status == "DRAFT"

    def test_a_different_certificate_at_the_service_is_refused(
        self,
        api: Api,
        remote: Consortium,
        peer: CscPeer,
        ca: signing_ca.Issued,
        use_database: Database,
    ) -> None:
        study = _study(use_database, remote)
        peer.credentials[CREDENTIAL] = (signing_ca.signer(ca, "Someone Else"), [ca])
        response = _sign(api, remote.radiologist, study)
        assert response.status_code == 502, response.text
        assert "different certificate" in response.json()["message"]
        assert _latest(use_database, study).status == "DRAFT"

    def test_remote_mode_without_a_credential_is_a_clear_conflict(
        self, api: Api, remote: Consortium, use_database: Database
    ) -> None:
        study = _study(use_database, remote)
        response = _sign(api, remote.senior_radiologist, study)
        assert response.status_code == 409, response.text
        assert response.json()["error"] == "signing_unavailable"

    def test_unknown_credential_is_refused_and_audited(
        self, api: Api, remote: Consortium, use_database: Database
    ) -> None:
        bind = {"user_id": str(remote.senior_radiologist.user_id), "credential_id": "nope"}
        response = api.post(remote.consortium_admin, "/api/v1/signing/identities/remote", bind)
        assert response.status_code == 422, response.text
        with use_database.factory() as session:
            denied = session.scalars(
                select(AuditEvent)
                .where(
                    AuditEvent.tenant_id == remote.tenant_id,
                    AuditEvent.action == "signing.remote_registered",
                )
                .order_by(AuditEvent.at)  # PostgreSQL returns rows in no particular order
            ).all()
        assert [e.outcome for e in denied] == ["success", "denied"]
