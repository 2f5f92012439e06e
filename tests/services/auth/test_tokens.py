from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey

from services.auth import tokens
from services.auth.tokens import (
    ALGORITHM,
    TokenClaims,
    issue_access_token,
    jwks,
    signing_key,
    verify_access_token,
)
from services.kit.clock import utc_now
from services.kit.errors import Unauthorized
from services.kit.settings import AuthSettings, CoreSettings

pytestmark = pytest.mark.unit

CLAIMS = TokenClaims(
    subject=str(uuid.UUID("2f0b6c57-1d7e-4a3f-9a53-1a4f3d9b8e01")),
    kind="user",
    tenant_id=uuid.UUID("7c1c0c1e-8f21-4c44-9f0e-55e0a1d3c001"),
    organization_id=uuid.UUID("7c1c0c1e-8f21-4c44-9f0e-55e0a1d3c002"),
    roles=frozenset({"radiologist", "senior_radiologist"}),
    token_id="a1b2c3",
)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _segment(obj: dict[str, Any]) -> str:
    return _b64(json.dumps(obj, separators=(",", ":")).encode())


def _with_auth(settings: CoreSettings, **changes: Any) -> CoreSettings:
    return settings.model_copy(update={"auth": settings.auth.model_copy(update=changes)})


def _payload(token: str) -> dict[str, Any]:
    payload: dict[str, Any] = json.loads(_unb64(token.split(".")[1]))
    return payload


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> CoreSettings:
    """Settings with their own state folder, so the signing key is made for this module."""
    return CoreSettings(state_dir=tmp_path_factory.mktemp("state"), auth=AuthSettings())


@pytest.fixture(scope="module")
def token(settings: CoreSettings) -> str:
    access, _ = issue_access_token(settings, CLAIMS)
    return access


class TestRoundTrip:
    def test_verified_claims_equal_issued_claims(self, settings: CoreSettings, token: str) -> None:
        assert verify_access_token(settings, token) == CLAIMS

    def test_lifetime_is_the_configured_ttl(self, settings: CoreSettings) -> None:
        _, ttl = issue_access_token(settings, CLAIMS)
        assert ttl == settings.auth.access_token_ttl_s

    def test_header_names_rs256_and_the_key_id(self, settings: CoreSettings, token: str) -> None:
        header = json.loads(_unb64(token.split(".")[0]))
        assert header == {"alg": "RS256", "kid": signing_key(settings).kid, "typ": "at+jwt"}

    def test_payload_carries_issuer_audience_and_expiry(
        self, settings: CoreSettings, token: str
    ) -> None:
        payload = _payload(token)
        assert payload["iss"] == settings.auth.issuer
        assert payload["aud"] == settings.auth.audience
        assert payload["exp"] - payload["iat"] == settings.auth.access_token_ttl_s

    def test_platform_account_without_tenant_round_trips(self, settings: CoreSettings) -> None:
        claims = TokenClaims("svc", "client", None, None, frozenset(), "t1")
        access, _ = issue_access_token(settings, claims)
        assert verify_access_token(settings, access) == claims

    def test_token_expired_within_leeway_is_accepted(
        self, settings: CoreSettings, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        ttl = settings.auth.access_token_ttl_s
        issued = utc_now() - timedelta(seconds=ttl + settings.auth.leeway_s // 2)
        monkeypatch.setattr(tokens, "utc_now", lambda: issued)
        access, _ = issue_access_token(settings, CLAIMS)
        monkeypatch.undo()
        assert verify_access_token(settings, access).subject == CLAIMS.subject

    def test_key_is_kept_in_the_state_folder(self, settings: CoreSettings) -> None:
        key = signing_key(settings)
        path = settings.state_dir / "keys" / "jwt-signing.json"
        assert RSAKey.import_key(json.loads(path.read_text())).thumbprint() == key.thumbprint()
        assert path.stat().st_mode & 0o077 == 0

    def test_token_still_verifies_after_the_key_is_reloaded_from_disk(
        self, settings: CoreSettings, token: str
    ) -> None:
        tokens._load_key.cache_clear()  # what a restarted process sees: the key file only
        assert verify_access_token(settings, token) == CLAIMS


class TestJwks:
    def test_publishes_the_public_rsa_key_only(self, settings: CoreSettings) -> None:
        (key,) = jwks(settings)["keys"]
        assert key["kty"] == "RSA"
        assert key["alg"] == ALGORITHM
        assert key["use"] == "sig"
        assert key["kid"] == signing_key(settings).kid
        assert {"n", "e"} <= key.keys()
        assert not {"d", "p", "q", "dp", "dq", "qi"} & key.keys()

    def test_published_key_verifies_a_token(self, settings: CoreSettings, token: str) -> None:
        (key,) = jwks(settings)["keys"]
        decoded = jwt.decode(token, RSAKey.import_key(key), algorithms=[ALGORITHM])
        assert decoded.claims["sub"] == CLAIMS.subject


class TestRejected:
    def test_signature_bit_flip(self, settings: CoreSettings, token: str) -> None:
        header, payload, signature = token.split(".")
        raw = bytearray(_unb64(signature))
        raw[len(raw) // 2] ^= 0x01
        with pytest.raises(Unauthorized):
            verify_access_token(settings, f"{header}.{payload}.{_b64(bytes(raw))}")

    def test_payload_changed_under_a_valid_signature(
        self, settings: CoreSettings, token: str
    ) -> None:
        header, _, signature = token.split(".")
        payload = {**_payload(token), "roles": ["consortium_admin"]}
        with pytest.raises(Unauthorized):
            verify_access_token(settings, f"{header}.{_segment(payload)}.{signature}")

    def test_alg_none(self, settings: CoreSettings, token: str) -> None:
        header = _segment({"alg": "none", "typ": "at+jwt"})
        payload = _segment(_payload(token))
        with pytest.raises(Unauthorized):
            verify_access_token(settings, f"{header}.{payload}.")

    def test_hs256_signed_with_the_public_key_bytes(
        self, settings: CoreSettings, token: str
    ) -> None:
        # Algorithm confusion: a verifier that trusts the header would HMAC with the public key.
        public_pem = signing_key(settings).as_pem(private=False)
        header = _segment({"alg": "HS256", "kid": signing_key(settings).kid, "typ": "at+jwt"})
        payload = _segment(_payload(token))
        mac = hmac.new(public_pem, f"{header}.{payload}".encode(), hashlib.sha256).digest()
        with pytest.raises(Unauthorized):
            verify_access_token(settings, f"{header}.{payload}.{_b64(mac)}")

    def test_signed_by_another_key(self, settings: CoreSettings, tmp_path: Path) -> None:
        stranger = CoreSettings(state_dir=tmp_path)
        access, _ = issue_access_token(stranger, CLAIMS)
        with pytest.raises(Unauthorized):
            verify_access_token(settings, access)

    def test_expired_beyond_leeway(
        self, settings: CoreSettings, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        ttl, leeway = settings.auth.access_token_ttl_s, settings.auth.leeway_s
        issued: datetime = utc_now() - timedelta(seconds=ttl + leeway + 5)
        monkeypatch.setattr(tokens, "utc_now", lambda: issued)
        access, _ = issue_access_token(settings, CLAIMS)
        monkeypatch.undo()
        with pytest.raises(Unauthorized, match="invalid or expired"):
            verify_access_token(settings, access)

    def test_not_yet_valid_beyond_leeway(
        self, settings: CoreSettings, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        issued = utc_now() + timedelta(seconds=settings.auth.leeway_s + 30)
        monkeypatch.setattr(tokens, "utc_now", lambda: issued)
        access, _ = issue_access_token(settings, CLAIMS)
        monkeypatch.undo()
        with pytest.raises(Unauthorized):
            verify_access_token(settings, access)

    def test_wrong_audience(self, settings: CoreSettings) -> None:
        access, _ = issue_access_token(_with_auth(settings, audience="other-api"), CLAIMS)
        with pytest.raises(Unauthorized):
            verify_access_token(settings, access)

    def test_wrong_issuer(self, settings: CoreSettings) -> None:
        access, _ = issue_access_token(_with_auth(settings, issuer="https://evil.example"), CLAIMS)
        with pytest.raises(Unauthorized):
            verify_access_token(settings, access)

    def test_not_an_access_token(self, settings: CoreSettings, token: str) -> None:
        payload = {**_payload(token), "typ": "refresh"}
        header = {"alg": ALGORITHM, "kid": signing_key(settings).kid}
        forged = jwt.encode(header, payload, signing_key(settings), algorithms=[ALGORITHM])
        with pytest.raises(Unauthorized):
            verify_access_token(settings, forged)

    def test_missing_expiry(self, settings: CoreSettings, token: str) -> None:
        payload = {k: v for k, v in _payload(token).items() if k != "exp"}
        header = {"alg": ALGORITHM, "kid": signing_key(settings).kid}
        forged = jwt.encode(header, payload, signing_key(settings), algorithms=[ALGORITHM])
        with pytest.raises(Unauthorized):
            verify_access_token(settings, forged)

    def test_malformed_tenant_claim(self, settings: CoreSettings, token: str) -> None:
        payload = {**_payload(token), "tid": "not-a-uuid"}
        header = {"alg": ALGORITHM, "kid": signing_key(settings).kid}
        forged = jwt.encode(header, payload, signing_key(settings), algorithms=[ALGORITHM])
        with pytest.raises(Unauthorized):
            verify_access_token(settings, forged)

    @pytest.mark.parametrize(
        "garbage", ["", "garbage", "a.b.c", "...", "Bearer x", "eyJhbGciOiJSUzI1NiJ9.e30."]
    )
    def test_garbage(self, settings: CoreSettings, garbage: str) -> None:
        with pytest.raises(Unauthorized):
            verify_access_token(settings, garbage)


def _first_use_in_a_process(state_dir: str) -> str:
    """Sign a token in a fresh process on a state folder that has no key yet."""
    settings = CoreSettings(state_dir=Path(state_dir))
    token, _ = issue_access_token(settings, CLAIMS)
    return token


def test_concurrent_first_uses_across_processes_agree_on_one_key(tmp_path: Path) -> None:
    """Several processes started together (``radbridge up``) must not each mint a key."""
    import multiprocessing

    with multiprocessing.get_context("spawn").Pool(4) as pool:
        issued = pool.map(_first_use_in_a_process, [str(tmp_path)] * 8)

    settings = CoreSettings(state_dir=tmp_path)
    tokens._load_key.cache_clear()
    assert {verify_access_token(settings, t).subject for t in issued} == {CLAIMS.subject}
    assert [p.name for p in (tmp_path / "keys").iterdir()] == ["jwt-signing.json"]
