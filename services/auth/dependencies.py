"""Request dependencies: the bearer token becomes a principal, a role check, a tenant scope."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from services.audit import service as audit
from services.auth import service as auth_service
from services.auth.principal import Principal, TenantScope
from services.domain.roles import Role
from services.kit.errors import Forbidden, Unauthorized
from services.kit.http import DbSession, Settings

_bearer = HTTPBearer(auto_error=False, description="OAuth2 access token from /oauth/token")


def get_principal(
    session: DbSession,
    settings: Settings,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """Return the caller, or raise 401 when the token is missing or invalid."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized("Sign in first: send 'Authorization: Bearer <access token>'.")
    return auth_service.principal_from_token(session, settings, credentials.credentials)


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


def require_roles(*roles: Role) -> Callable[..., Principal]:
    """Return a dependency that lets through only principals holding one of ``roles``."""
    allowed = frozenset(roles)

    def check(session: DbSession, principal: CurrentPrincipal) -> Principal:
        if not principal.has_any(allowed):
            audit.record_denied(
                session,
                actor=principal.actor,
                action="authorize",
                object_type="endpoint",
                tenant_id=principal.tenant_id,
                detail={"needs": sorted(r.value for r in allowed)},
            )
            needed = ", ".join(sorted(r.value for r in allowed))
            raise Forbidden(f"This action needs one of these roles: {needed}.")
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
