from __future__ import annotations

import base64
import uuid
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from joserfc import jwt
from joserfc.jwk import KeySet
from sqlalchemy import update

from services.api.app import create_app
from services.domain.roles import Role
from services.kit.db import session_scope
from services.models import ApiClient, User
from services.tenant import service as tenant_service
from tests.factories.tenant import Account, Consortium
from tests.fixtures.databases import Database

pytestmark = pytest.mark.integration

CLIENT_SECRET = "edge-uploader-secret"


@pytest.fixture
def client(use_database: Database) -> Iterator[TestClient]:
    with TestClient(create_app()) as test_client:
        yield test_client


@pytest.fixture
def api_client_id(use_database: Database, consortium: Consortium) -> str:
    """An ingest agent of clinic A authenticating with client credentials."""
    client_id = f"{consortium.slug}-edge-uploader"
    with session_scope(use_database.factory) as session:
        tenant_service.create_api_client(
            session,
            client_id=client_id,
            secret=CLIENT_SECRET,
            organization=consortium.clinic_a,
            roles=[Role.INGEST_AGENT],
        )
    return client_id


def _password_grant(client: TestClient, username: str, password: str) -> Response:
    response: Response = client.post(
        "/oauth/token", data={"grant_type": "password", "username": username, "password": password}
    )
    return response


def _token(client: TestClient, account: Account) -> str:
    response = _password_grant(client, account.username, account.password)
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def _basic(client_id: str, secret: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}


def _me(client: TestClient, token: str) -> Response:
    response: Response = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    return response


def _assert_uniform_401(response: Response) -> None:
    assert response.status_code == 401
    body = response.json()
    assert set(body) == {"error", "message", "correlation_id"}
    assert body["error"] == "unauthorized"
    assert body["message"]
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert response.headers["X-Request-ID"] == body["correlation_id"]


class TestPasswordGrant:
    def test_returns_a_bearer_token(self, client: TestClient, consortium: Consortium) -> None:
        account = consortium.radiologist
        response = _password_grant(client, account.username, account.password)

        assert response.status_code == 200
        body = response.json()
        assert body["token_type"] == "Bearer"
        assert body["expires_in"] == 3600
        assert _me(client, body["access_token"]).json()["subject"] == str(account.user_id)

    def test_token_response_is_not_cached(self, client: TestClient, consortium: Consortium) -> None:
        account = consortium.clinic_staff
        response = _password_grant(client, account.username, account.password)
        assert response.headers["Cache-Control"] == "no-store"  # RFC 6749 section 5.1

    def test_wrong_password_is_invalid_grant(
        self, client: TestClient, consortium: Consortium
    ) -> None:
        response = _password_grant(client, consortium.radiologist.username, "wrong password")

        assert response.status_code == 400
        assert response.json() == {
            "error": "invalid_grant",
            "error_description": "The username or password is wrong, or the account is disabled.",
        }
        assert response.headers["Cache-Control"] == "no-store"

    def test_unknown_user_gets_the_same_answer_as_a_wrong_password(
        self, client: TestClient, consortium: Consortium
    ) -> None:
        unknown = _password_grant(client, f"{consortium.slug}.nobody", "whatever")
        wrong = _password_grant(client, consortium.radiologist.username, "whatever")
        assert (unknown.status_code, unknown.json()) == (wrong.status_code, wrong.json())

    def test_missing_password_is_invalid_request(
        self, client: TestClient, consortium: Consortium
    ) -> None:
        response = client.post(
            "/oauth/token",
            data={"grant_type": "password", "username": consortium.radiologist.username},
        )
        assert response.status_code == 400
        assert response.json()["error"] == "invalid_request"

    def test_disabled_user_cannot_sign_in(
        self, client: TestClient, use_database: Database, consortium: Consortium
    ) -> None:
        account = consortium.clinic_staff
        _disable_user(use_database, account.user_id)

        response = _password_grant(client, account.username, account.password)

        assert response.status_code == 400
        assert response.json()["error"] == "invalid_grant"


class TestClientCredentialsGrant:
    def test_http_basic(self, client: TestClient, api_client_id: str) -> None:
        response = client.post(
            "/oauth/token",
            data={"grant_type": "client_credentials"},
            headers=_basic(api_client_id, CLIENT_SECRET),
        )

        assert response.status_code == 200
        me = _me(client, response.json()["access_token"]).json()
        assert (me["kind"], me["subject"], me["roles"]) == (
            "client",
            api_client_id,
            ["ingest_agent"],
        )

    def test_form_fields(self, client: TestClient, api_client_id: str) -> None:
        response = client.post(
            "/oauth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": api_client_id,
                "client_secret": CLIENT_SECRET,
            },
        )

        assert response.status_code == 200
        assert response.json()["token_type"] == "Bearer"

    def test_wrong_secret_is_invalid_client(self, client: TestClient, api_client_id: str) -> None:
        response = client.post(
            "/oauth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": api_client_id,
                "client_secret": "not-the-secret",
            },
        )

        assert response.status_code == 401
        assert response.json()["error"] == "invalid_client"

    def test_wrong_basic_secret_names_the_basic_scheme(
        self, client: TestClient, api_client_id: str
    ) -> None:
        response = client.post(
            "/oauth/token",
            data={"grant_type": "client_credentials"},
            headers=_basic(api_client_id, "not-the-secret"),
        )

        assert response.status_code == 401
        assert response.json()["error"] == "invalid_client"
        assert response.headers["WWW-Authenticate"].startswith("Basic")  # RFC 6749 section 5.2

    def test_disabled_client_is_refused(
        self, client: TestClient, use_database: Database, api_client_id: str
    ) -> None:
        with session_scope(use_database.factory) as session:
            session.execute(
                update(ApiClient)
                .where(ApiClient.client_id == api_client_id)
                .values(is_active=False)
            )
        response = client.post(
            "/oauth/token",
            data={"grant_type": "client_credentials"},
            headers=_basic(api_client_id, CLIENT_SECRET),
        )
        assert response.status_code == 401


class TestOtherGrants:
    @pytest.mark.parametrize("grant_type", ["authorization_code", "refresh_token", "implicit"])
    def test_unknown_grant_type_is_unsupported(self, client: TestClient, grant_type: str) -> None:
        response = client.post("/oauth/token", data={"grant_type": grant_type})

        assert response.status_code == 400
        assert response.json()["error"] == "unsupported_grant_type"


class TestMe:
    def test_describes_the_signed_in_user(self, client: TestClient, consortium: Consortium) -> None:
        account = consortium.clinic_staff
        response = _me(client, _token(client, account))

        assert response.status_code == 200
        assert response.json() == {
            "subject": str(account.user_id),
            "kind": "user",
            "display_name": "Test clinic_staff",
            "tenant_id": str(consortium.tenant_id),
            "organization_id": str(consortium.clinic_a.id),
            "roles": ["clinic_staff"],
        }

    def test_platform_admin_has_no_tenant(self, client: TestClient, consortium: Consortium) -> None:
        me = _me(client, _token(client, consortium.platform_admin)).json()
        assert (me["tenant_id"], me["organization_id"], me["roles"]) == (
            None,
            None,
            ["platform_admin"],
        )

    def test_missing_token_is_401_with_uniform_error(self, client: TestClient) -> None:
        _assert_uniform_401(client.get("/api/v1/me"))

    def test_correlation_id_echoes_the_request_id(self, client: TestClient) -> None:
        response = client.get("/api/v1/me", headers={"X-Request-ID": "req-123"})
        assert response.json()["correlation_id"] == "req-123"
        assert response.headers["X-Request-ID"] == "req-123"

    @pytest.mark.parametrize("token", ["garbage", "a.b.c", ""])
    def test_invalid_token_is_401(self, client: TestClient, token: str) -> None:
        _assert_uniform_401(_me(client, token))

    def test_basic_credentials_are_not_a_bearer_token(
        self, client: TestClient, consortium: Consortium
    ) -> None:
        account = consortium.clinic_staff
        response = client.get("/api/v1/me", headers=_basic(account.username, account.password))
        _assert_uniform_401(response)

    def test_disabled_users_token_is_refused_at_once(
        self, client: TestClient, use_database: Database, consortium: Consortium
    ) -> None:
        account = consortium.radiologist
        token = _token(client, account)
        assert _me(client, token).status_code == 200

        _disable_user(use_database, account.user_id)

        _assert_uniform_401(_me(client, token))

    def test_revoked_role_takes_effect_without_a_new_token(
        self, client: TestClient, use_database: Database, consortium: Consortium
    ) -> None:
        account = consortium.senior_radiologist
        token = _token(client, account)
        with session_scope(use_database.factory) as session:
            user = session.get_one(User, account.user_id)
            user.roles = []

        assert _me(client, token).json()["roles"] == []


class TestJwks:
    def test_publishes_an_rsa_signing_key(self, client: TestClient) -> None:
        response = client.get("/.well-known/jwks.json")

        assert response.status_code == 200
        (key,) = response.json()["keys"]
        assert (key["kty"], key["alg"], key["use"]) == ("RSA", "RS256", "sig")
        assert key["kid"]
        assert "d" not in key

    def test_published_key_verifies_issued_tokens(
        self, client: TestClient, consortium: Consortium
    ) -> None:
        keys = KeySet.import_key_set(client.get("/.well-known/jwks.json").json())
        decoded = jwt.decode(_token(client, consortium.radiologist), keys, algorithms=["RS256"])
        assert decoded.claims["sub"] == str(consortium.radiologist.user_id)

    def test_discovery_points_at_token_endpoint_and_jwks(self, client: TestClient) -> None:
        config = client.get("/.well-known/openid-configuration").json()
        assert config["token_endpoint"].endswith("/oauth/token")
        assert config["jwks_uri"].endswith("/.well-known/jwks.json")
        assert config["grant_types_supported"] == ["password", "client_credentials"]


def _disable_user(db: Database, user_id: uuid.UUID) -> None:
    with session_scope(db.factory) as session:
        session.execute(update(User).where(User.id == user_id).values(is_active=False))
