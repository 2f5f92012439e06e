"""Access tokens: RS256 JWTs the platform signs itself (joserfc, the Authlib project's JOSE).

Only RS256 with our own key is accepted, which shuts out ``alg: none`` and HS256 key confusion.
The public key is published as a JWKS so other processes (gateway, workers) verify locally.
"""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import RSAKey
from joserfc.jwt import JWTClaimsRegistry

from services.kit.clock import utc_now
from services.kit.errors import Unauthorized
from services.kit.settings import CoreSettings

ALGORITHM = "RS256"


@dataclass(frozen=True)
class TokenClaims:
    """What a verified access token says about its bearer."""

    subject: str
    kind: str  # "user" | "client"
    tenant_id: uuid.UUID | None
    organization_id: uuid.UUID | None
    roles: frozenset[str]
    token_id: str
    # Unix seconds ("exp"), known once a token is verified; not part of who the bearer is.
    expires_at: int | None = field(default=None, compare=False)


def _key_path(settings: CoreSettings) -> Path:
    return settings.state_dir / "keys" / "jwt-signing.json"


@lru_cache
def _load_key(path: Path) -> RSAKey:
    if not path.exists():
        _create_key_once(path)
    return RSAKey.import_key(json.loads(path.read_text()))


def _create_key_once(path: Path) -> None:
    """Write a new key unless another thread or process wins the race; only one key is ever used.

    The key goes to a file of this caller's own, then is linked to ``path``: linking fails when
    ``path`` exists, so concurrent first requests all end up reading the single winner's key.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    key = RSAKey.generate_key(2048, parameters={"kid": uuid.uuid4().hex}, private=True)
    own = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
    own.write_text(json.dumps(key.as_dict(private=True)))
    own.chmod(0o600)
    try:
        os.link(own, path)
    except FileExistsError:
        pass  # another process was first: its key is the key
    finally:
        own.unlink()


def signing_key(settings: CoreSettings) -> RSAKey:
    """Return the platform's signing key, creating it on first use."""
    return _load_key(_key_path(settings))


def jwks(settings: CoreSettings) -> dict[str, Any]:
    """Return the public JSON Web Key Set."""
    public = signing_key(settings).as_dict(private=False)
    return {"keys": [{**public, "use": "sig", "alg": ALGORITHM}]}


def issue_access_token(settings: CoreSettings, claims: TokenClaims) -> tuple[str, int]:
    """Sign an access token for ``claims``; return it and its lifetime in seconds."""
    key = signing_key(settings)
    now = int(utc_now().timestamp())
    ttl = settings.auth.access_token_ttl_s
    payload = {
        "iss": settings.auth.issuer,
        "aud": settings.auth.audience,
        "sub": claims.subject,
        "iat": now,
        "nbf": now,
        "exp": now + ttl,
        "jti": claims.token_id,
        "typ": "access",
        "kind": claims.kind,
        "tid": str(claims.tenant_id) if claims.tenant_id else None,
        "org": str(claims.organization_id) if claims.organization_id else None,
        "roles": sorted(claims.roles),
    }
    header = {"alg": ALGORITHM, "kid": key.kid, "typ": "at+jwt"}
    return jwt.encode(header, payload, key, algorithms=[ALGORITHM]), ttl


def _optional_uuid(value: Any) -> uuid.UUID | None:
    return uuid.UUID(value) if isinstance(value, str) and value else None


def verify_access_token(settings: CoreSettings, token: str) -> TokenClaims:
    """Verify signature, issuer, audience and times; raise Unauthorized otherwise."""
    invalid = Unauthorized("The access token is invalid or expired; sign in again.")
    try:
        decoded = jwt.decode(token, signing_key(settings), algorithms=[ALGORITHM])
        registry = JWTClaimsRegistry(
            leeway=settings.auth.leeway_s,
            iss={"essential": True, "value": settings.auth.issuer},
            aud={"essential": True, "value": settings.auth.audience},
            exp={"essential": True},
            sub={"essential": True},
            typ={"essential": True, "value": "access"},
        )
        registry.validate(decoded.claims)
        claims = decoded.claims
        return TokenClaims(
            subject=str(claims["sub"]),
            kind=str(claims.get("kind", "user")),
            tenant_id=_optional_uuid(claims.get("tid")),
            organization_id=_optional_uuid(claims.get("org")),
            roles=frozenset(str(r) for r in claims.get("roles", [])),
            token_id=str(claims.get("jti", "")),
            expires_at=int(claims["exp"]),
        )
    except (JoseError, ValueError, KeyError, TypeError) as exc:
        raise invalid from exc
