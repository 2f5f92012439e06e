"""Request dependencies: the bearer token becomes a principal, a role check, a tenant scope.

FastAPI runs every plain ``def`` dependency in its thread pool, one hop each. The role check is
therefore ``async`` (it does no I/O unless it must audit a denial), and settings are read
directly, so resolving a caller costs one hop. Hot endpoints go further: they take the raw
token (``BearerToken``) and call ``authorize`` inside the one worker-thread call that does their
whole job (see ``services.worklist.router``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from services.audit import service as audit
from services.auth import service as auth_service
from services.auth.principal import Principal, TenantScope
from services.domain.roles import Role
from services.kit.errors import Forbidden, Unauthorized
from services.kit.http import DbSession
from services.kit.settings import get_settings

_bearer = HTTPBearer(auto_error=False, description="OAuth2 access token from /oauth/token")
_SIGN_IN = "Sign in first: send 'Authorization: Bearer <access token>'."


async def bearer_token(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str:
    """Return the raw bearer token (not yet verified), or raise 401 when there is none."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized(_SIGN_IN)
    return credentials.credentials


BearerToken = Annotated[str, Depends(bearer_token)]


def get_principal(session: DbSession, token: BearerToken) -> Principal:
    """Return the caller, or raise 401 when the token is invalid or the account is gone."""
    return auth_service.principal_from_token(session, get_settings(), token)


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


def _deny(session: Session, principal: Principal, allowed: frozenset[Role]) -> Forbidden:
    audit.record_denied(
        session,
        actor=principal.actor,
        action="authorize",
        object_type="endpoint",
        tenant_id=principal.tenant_id,
        detail={"needs": sorted(r.value for r in allowed)},
    )
    needed = ", ".join(sorted(r.value for r in allowed))
    return Forbidden(f"This action needs one of these roles: {needed}.")


def authorize(session: Session, token: str, allowed: frozenset[Role]) -> Principal:
    """Return the caller holding one of ``allowed`` (401/403 otherwise; denials audited)."""
    principal = auth_service.principal_from_token(session, get_settings(), token)
    if not principal.has_any(allowed):
        raise _deny(session, principal, allowed)
    return principal


def require_roles(*roles: Role) -> Callable[..., Awaitable[Principal]]:
    """Return a dependency that lets through only principals holding one of ``roles``."""
    allowed = frozenset(roles)

    async def check(session: DbSession, principal: CurrentPrincipal) -> Principal:
        if not principal.has_any(allowed):
            raise await run_in_threadpool(_deny, session, principal, allowed)
        return principal

    return check


def get_scope(session: DbSession, principal: CurrentPrincipal) -> TenantScope:
    """Return the tenant scope of the caller (403 for accounts without patient-data access)."""
    try:
        return auth_service.resolve_scope(session, principal)
    except Forbidden:
        audit.record_denied(
            session,
            actor=principal.actor,
            action="authorize",
            object_type="patient_data",
            tenant_id=principal.tenant_id,
        )
        raise


Scope = Annotated[TenantScope, Depends(get_scope)]
