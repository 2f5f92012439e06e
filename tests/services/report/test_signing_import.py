"""A consortium imports its CA certificate and radiologists' keys; checks refuse the wrong ones.

An imported key signs end to end (CMS + PAdES verify against the imported CA). Foreign, expired
or non-signing certificates, wrong passwords and mismatched keys are refused with a clear 422
and audited; another consortium's admin cannot touch these radiologists.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from services.cli.app import _add_groups
from services.cli.app import app as cli_app
from services.kit.db import session_scope
from services.kit.settings import get_settings
from services.models import AuditEvent, Study
from services.report.rendering import render_and_store
from tests.factories import study as study_factory
from tests.factories import tenant as tenant_factory
from tests.factories.tenant import Consortium
from tests.fixtures.api_client import Api
from tests.fixtures.databases import Database
from tests.services.report import signing_ca
from tests.services.test_api_flow import _sign

pytestmark = pytest.mark.integration
PASSWORD = "p12-pass"
# An SM2-with-SM3 CA certificate made with OpenSSL 3.0 (`cryptography` cannot make or read SM2).
SM2_CA = """-----BEGIN CERTIFICATE-----
MIIBvzCCAWWgAwIBAgIUe7P4wtTjOaChzCUagM8nO4kbp00wCgYIKoEcz1UBg3Uw
OzEfMB0GA1UEAwwWU00yIFRlc3QgQ29uc29ydGl1bSBDQTEYMBYGA1UECgwPUmFk
QnJpZGdlIHRlc3RzMCAXDTI2MTEyNTA3MDQ1N1oYDzIxMjYxMTAxMDcwNDU3WjA7
MR8wHQYDVQQDDBZTTTIgVGVzdCBDb25zb3J0aXVtIENBMRgwFgYDVQQKDA9SYWRC
cmlkZ2UgdGVzdHMwWTATBgcqhkjOPQIBBggqgRzPVQGCLQNCAAR08lDp2q0eF1ce
ixVNBeMCOWsWIIUywskTo24vQsnHjz82gZ1VkjPndmcuNP6TAEMw5GQ9afdnifIK
1X8GPRWPo0UwQzASBgNVHRMBAf8ECDAGAQH/AgEAMA4GA1UdDwEB/wQEAwIBBjAd
BgNVHQ4EFgQUYCf4dHXYzAN6nQoRMxTvKv6sYXcwCgYIKoEcz1UBg3UDSAAwRQIh
AJ1tW76e4rGvbUS1qMVlBXBGMAgM41glSkkg8KqrZCslAiAEZ5SO/mGRLZogbKoc
JVoZFYIcQoKUxalOvrDJtFLnvw==
-----END CERTIFICATE-----
"""


@pytest.fixture
def ca(api: Api, consortium: Consortium) -> signing_ca.Issued:
    """The consortium's CA, imported (certificate only)."""
    authority = signing_ca.authority()
    body = {"certificate_pem": authority.cert_pem.decode()}
    response = api.put(consortium.consortium_admin, "/api/v1/signing/authority", body)
    assert response.status_code == 200, response.text
    assert response.json()["has_key"] is False
    return authority


def _p12(
    consortium: Consortium, issued: signing_ca.Issued, password: str = PASSWORD
) -> dict[str, Any]:
    return {
        "user_id": str(consortium.radiologist.user_id),
        "pkcs12_base64": base64.b64encode(issued.pkcs12(PASSWORD.encode())).decode(),
        "password": password,
    }


def _import(api: Api, consortium: Consortium, body: dict[str, Any]) -> Any:
    return api.post(consortium.consortium_admin, "/api/v1/signing/identities", body)


def _study(db: Database, consortium: Consortium) -> Study:
    with session_scope(db.factory) as session:
        study, _ = study_factory.register_study(session, clinic=consortium.clinic_a)
    return study


class TestImportedKeys:
    def test_imported_pkcs12_signs_end_to_end(
        self, api: Api, consortium: Consortium, ca: signing_ca.Issued, use_database: Database
    ) -> None:
        response = _import(api, consortium, _p12(consortium, signing_ca.signer(ca, "Dr Import")))
        assert response.status_code == 200, response.text
        assert response.json()["remote"] is False
        study = _study(use_database, consortium)
        signed = _sign(api, consortium.radiologist, study)
        assert signed.status_code == 200, signed.text
        with session_scope(use_database.factory) as session:
            report_id = uuid.UUID(signed.json()["id"])
            assert render_and_store(session, get_settings(), report_id=report_id)
        url = f"/api/v1/studies/{study.id}/report/verification"
        body = api.get(consortium.clinic_staff, url).json()
        assert body["valid"] is True, body
        assert "Dr Import" in body["pdf_signature"]["signer"]
        setup = api.get(consortium.consortium_admin, "/api/v1/signing").json()
        assert setup["mode"] == "local"
        assert [i["subject"] for i in setup["identities"]] == ["CN=Dr Import"]

    def test_pem_certificate_and_encrypted_key_import(
        self, api: Api, consortium: Consortium, ca: signing_ca.Issued
    ) -> None:
        issued = signing_ca.signer(ca, "Dr Pem")
        body = {
            "user_id": str(consortium.radiologist.user_id),
            "certificate_pem": issued.cert_pem.decode(),
            "key_pem": issued.key_pem(b"k3y").decode(),
            "password": "k3y",
        }
        response = _import(api, consortium, body)
        assert response.status_code == 200, response.text

    @pytest.mark.parametrize(
        ("case", "message"),
        [
            ("foreign", "not issued by the consortium CA"),
            ("expired", "expired"),
            ("no_signing_usage", "does not allow signing"),
            ("wrong_password", "wrong password"),
            ("key_mismatch", "does not belong"),
        ],
    )
    def test_bad_imports_are_refused_and_audited(
        self,
        api: Api,
        consortium: Consortium,
        ca: signing_ca.Issued,
        use_database: Database,
        case: str,
        message: str,
    ) -> None:
        good = signing_ca.signer(ca, "Dr Good")
        cases: dict[str, Callable[[], dict[str, Any]]] = {
            "foreign": lambda: _p12(consortium, signing_ca.signer(signing_ca.authority(), "X")),
            "expired": lambda: _p12(consortium, signing_ca.signer(ca, "X", expired=True)),
            "no_signing_usage": lambda: _p12(consortium, signing_ca.signer(ca, "X", sign=False)),
            "wrong_password": lambda: _p12(consortium, good, password="nope"),
            "key_mismatch": lambda: {
                "user_id": str(consortium.radiologist.user_id),
                "certificate_pem": good.cert_pem.decode(),
                "key_pem": signing_ca.signer(ca, "Other").key_pem().decode(),
            },
        }
        response = _import(api, consortium, cases[case]())
        assert response.status_code == 422, response.text
        assert response.json()["error"] == "signing_import_invalid"
        assert message in response.json()["message"]
        with use_database.factory() as session:
            outcomes = session.scalars(
                select(AuditEvent.outcome).where(
                    AuditEvent.tenant_id == consortium.tenant_id,
                    AuditEvent.action == "signing.identity_imported",
                )
            ).all()
        assert outcomes == ["denied"]

    def test_non_ca_certificate_is_refused_as_authority(
        self, api: Api, consortium: Consortium
    ) -> None:
        leaf = signing_ca.signer(signing_ca.authority(), "Not a CA")
        body = {"certificate_pem": leaf.cert_pem.decode()}
        response = api.put(consortium.consortium_admin, "/api/v1/signing/authority", body)
        assert response.status_code == 422
        assert "not a CA certificate" in response.json()["message"]

    def test_sm2_ca_is_refused_with_a_clear_reason(self, api: Api, consortium: Consortium) -> None:
        body = {"certificate_pem": SM2_CA}
        response = api.put(consortium.consortium_admin, "/api/v1/signing/authority", body)
        assert response.status_code == 422, response.text
        assert "SM2" in response.json()["message"]

    def test_ca_import_refused_once_local_identities_signed(
        self, api: Api, consortium: Consortium, use_database: Database
    ) -> None:
        study = _study(use_database, consortium)
        assert _sign(api, consortium.radiologist, study).status_code == 200  # local CA issues
        body = {"certificate_pem": signing_ca.authority().cert_pem.decode()}
        response = api.put(consortium.consortium_admin, "/api/v1/signing/authority", body)
        assert response.status_code == 422
        assert "would no longer verify" in response.json()["message"]

    def test_other_consortium_cannot_import_for_these_radiologists(
        self, api: Api, consortium: Consortium, ca: signing_ca.Issued, use_database: Database
    ) -> None:
        other = tenant_factory.build_consortium(use_database.factory)
        body = _p12(consortium, signing_ca.signer(ca, "Dr Import"))
        response = api.post(other.consortium_admin, "/api/v1/signing/identities", body)
        assert response.status_code == 404
        assert api.get(other.consortium_admin, "/api/v1/signing").json()["authority"] is None
        assert (
            api.put(consortium.radiologist, "/api/v1/signing/mode", {"mode": "remote"}).status_code
            == 403
        )
        with use_database.factory() as session:
            denied = session.scalars(
                select(AuditEvent.outcome).where(
                    AuditEvent.tenant_id == other.tenant_id,
                    AuditEvent.action == "signing.identity_imported",
                )
            ).all()
        assert denied == ["denied"]


def test_cli_imports_ca_and_pkcs12(
    consortium: Consortium, tmp_path: Path, use_database: Database
) -> None:
    authority = signing_ca.authority()
    (tmp_path / "ca.pem").write_bytes(authority.cert_pem)
    (tmp_path / "me.p12").write_bytes(
        signing_ca.signer(authority, "Dr Cli").pkcs12(PASSWORD.encode())
    )
    (tmp_path / "bad.p12").write_bytes(
        signing_ca.signer(signing_ca.authority(), "Dr Foreign").pkcs12(PASSWORD.encode())
    )
    _add_groups()
    runner = CliRunner()
    ok = runner.invoke(cli_app, ["signing", "import-ca", consortium.slug, str(tmp_path / "ca.pem")])
    assert ok.exit_code == 0, ok.output
    user = consortium.radiologist.username
    args = ["signing", "import-key", user, "--password", PASSWORD]
    ok = runner.invoke(cli_app, [*args[:3], str(tmp_path / "me.p12"), *args[3:]])
    assert ok.exit_code == 0, ok.output
    assert "CN=Dr Cli" in ok.output
    bad = runner.invoke(cli_app, [*args[:3], str(tmp_path / "bad.p12"), *args[3:]])
    assert bad.exit_code == 1
    assert "not issued by the consortium CA" in bad.output
