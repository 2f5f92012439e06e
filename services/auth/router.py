"""OAuth2 token endpoint (password and client-credentials grants), JWKS, discovery, /me."""

from __future__ import annotations

import base64
from typing import Annotated, Any
from urllib.parse import unquote

from fastapi import APIRouter, Form, Header, Response
from fastapi.responses import JSONResponse

from services.auth import service
from services.auth.dependencies import CurrentPrincipal
from services.auth.schemas import MeRead, TokenResponse
from services.auth.tokens import ALGORITHM, jwks
from services.kit.errors import Unauthorized
from services.kit.http import DbSession, Settings

router = APIRouter(tags=["auth"])


def _oauth_error(
    status: int, error: str, description: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(
        {"error": error, "error_description": description},
        status_code=status,
        headers={"Cache-Control": "no-store", **(headers or {})},
    )


def _basic_client(authorization: str | None) -> tuple[str, str] | None:
    if not authorization or not authorization.lower().startswith("basic "):
        return None
    try:
        client_id, _, secret = base64.b64decode(authorization[6:]).decode().partition(":")
        client_id, secret = unquote(client_id), unquote(secret)  # RFC 6749 section 2.3.1
    except (ValueError, UnicodeDecodeError):
        return None
    return client_id, secret


@router.post("/oauth/token", response_model=TokenResponse)
def token(  # noqa: PLR0913, PLR0917 - the form fields of RFC 6749 section 4.3 and 4.4
    session: DbSession,
    settings: Settings,
    response: Response,
    grant_type: Annotated[str, Form()],
    username: Annotated[str | None, Form()] = None,
    password: Annotated[str | None, Form()] = None,
    client_id: Annotated[str | None, Form()] = None,
    client_secret: Annotated[str | None, Form()] = None,
    authorization: Annotated[str | None, Header()] = None,
) -> Any:
    """Issue an access token for a person (password) or a machine (client credentials)."""
    try:
        if grant_type == "password":
            if not username or not password:
                return _oauth_error(400, "invalid_request", "username and password are required")
            access, ttl = service.password_grant(
                session, settings, username=username, password=password
            )
        elif grant_type == "client_credentials":
            basic = _basic_client(authorization)
            cid, secret = basic or (client_id or "", client_secret or "")
            access, ttl = service.client_credentials_grant(
                session, settings, client_id=cid, client_secret=secret
            )
        else:
            return _oauth_error(400, "unsupported_grant_type", f"{grant_type!r} is not supported")
    except Unauthorized as exc:
        if grant_type != "client_credentials":
            return _oauth_error(400, "invalid_grant", exc.message)
        # RFC 6749 section 5.2: a client that sent Basic credentials is told that scheme failed.
        basic_used = _basic_client(authorization) is not None
        challenge = {"WWW-Authenticate": 'Basic realm="radbridge"'} if basic_used else None
        return _oauth_error(401, "invalid_client", exc.message, challenge)
    # RFC 6749 section 5.1: responses carrying tokens must never be cached.
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return TokenResponse(access_token=access, expires_in=ttl)


@router.get("/.well-known/jwks.json")
def jwks_document(settings: Settings) -> dict[str, Any]:
    """Publish the public keys that verify our access tokens."""
    return jwks(settings)


@router.get("/.well-known/openid-configuration")
def discovery(settings: Settings) -> dict[str, Any]:
    """Describe the authorization server (RFC 8414 / OIDC discovery subset)."""
    base = settings.api.public_url.rstrip("/")
    return {
        "issuer": settings.auth.issuer,
        "token_endpoint": f"{base}/oauth/token",
        "jwks_uri": f"{base}/.well-known/jwks.json",
        "grant_types_supported": ["password", "client_credentials"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "id_token_signing_alg_values_supported": [ALGORITHM],
    }


@router.get("/api/v1/me", response_model=MeRead)
def me(principal: CurrentPrincipal) -> MeRead:
    """Return who the token belongs to."""
    return MeRead(
        subject=principal.subject,
        kind=principal.kind,
        display_name=principal.display_name,
        tenant_id=principal.tenant_id,
        organization_id=principal.organization_id,
        roles=sorted(principal.roles),
    )
