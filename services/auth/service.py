"""Sign-in (password and client-credentials grants) and turning tokens into scoped principals."""

from __future__ import annotations

import uuid
from collections.abc import Collection

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.auth import access_cache
from services.auth.passwords import verify_secret
from services.auth.principal import Principal, TenantScope, scope_kind
from services.auth.tokens import TokenClaims, issue_access_token, verify_access_token
from services.kit.clock import utc_now
from services.kit.errors import Forbidden, Unauthorized
from services.kit.ids import new_id
from services.kit.settings import CoreSettings
from services.models import ApiClient, User
from services.tenant import service as tenant_service

_BAD_LOGIN = "The username or password is wrong, or the account is disabled."


def password_grant(
    session: Session, settings: CoreSettings, *, username: str, password: str
) -> tuple[str, int]:
    """Check a person's password and return an access token and its lifetime."""
    user = session.scalar(select(User).where(User.username == username))
    if user is None or not user.is_active or not verify_secret(password, user.password_hash):
        raise Unauthorized(_BAD_LOGIN)
    claims = TokenClaims(
        subject=str(user.id),
        kind="user",
        tenant_id=user.tenant_id,
        organization_id=user.organization_id,
        roles=frozenset(user.role_names),
        token_id=new_id().hex,
    )
    return issue_access_token(settings, claims)


def password_grant_for_roles(
    session: Session,
    settings: CoreSettings,
    *,
    username: str,
    password: str,
    roles: Collection[str],
    refusal: str,
) -> tuple[str, int]:
    """Run a password grant for a page serving only ``roles`` (403 ``refusal`` otherwise)."""
    token, ttl = password_grant(session, settings, username=username, password=password)
    if not verify_access_token(settings, token).roles & set(roles):
        raise Forbidden(refusal)
    return token, ttl


def client_credentials_grant(
    session: Session, settings: CoreSettings, *, client_id: str, client_secret: str
) -> tuple[str, int]:
    """Check a machine client's secret and return an access token and its lifetime."""
    client = session.scalar(select(ApiClient).where(ApiClient.client_id == client_id))
    if (
        client is None
        or not client.is_active
        or not verify_secret(client_secret, client.secret_hash)
    ):
        raise Unauthorized("The client id or secret is wrong, or the client is disabled.")
    claims = TokenClaims(
        subject=client.client_id,
        kind="client",
        tenant_id=client.tenant_id,
        organization_id=client.organization_id,
        roles=frozenset(r for r in client.roles_csv.split(",") if r),
        token_id=new_id().hex,
    )
    return issue_access_token(settings, claims)


def principal_from_token(session: Session, settings: CoreSettings, token: str) -> Principal:
    """Verify a bearer token and return its account as it is now (revocations count at once).

    The account is re-read only when the access epoch moved since it was cached (see
    ``access_cache``); otherwise the request costs one primary-key read of that counter.
    """
    key = access_cache.token_key(session, token)
    epoch = access_cache.epoch(session)  # before the account: a change in between re-reads
    cached = access_cache.PRINCIPALS.get(key, epoch=epoch, now=utc_now().timestamp())
    if cached is not None:
        return cached
    claims = verify_access_token(settings, token)
    principal = _load_principal(session, claims)
    expires = None if claims.expires_at is None else claims.expires_at + settings.auth.leeway_s
    access_cache.PRINCIPALS.put(key, principal, epoch=epoch, expires_at=expires)
    return principal


def _load_principal(session: Session, claims: TokenClaims) -> Principal:
    gone = Unauthorized("This account no longer exists or is disabled; sign in again.")
    if claims.kind == "client":
        client = session.scalar(select(ApiClient).where(ApiClient.client_id == claims.subject))
        if client is None or not client.is_active:
            raise gone
        roles = frozenset(r for r in client.roles_csv.split(",") if r)
        return Principal(
            subject=client.client_id,
            kind="client",
            user_id=None,
            tenant_id=client.tenant_id,
            organization_id=client.organization_id,
            roles=roles,
            display_name=client.client_id,
        )
    user = session.get(User, uuid.UUID(claims.subject))
    if user is None or not user.is_active:
        raise gone
    return Principal(
        subject=str(user.id),
        kind="user",
        user_id=user.id,
        tenant_id=user.tenant_id,
        organization_id=user.organization_id,
        roles=frozenset(user.role_names),
        display_name=user.display_name,
    )


def clinics_read_by(session: Session, *, reader_org_id: uuid.UUID) -> frozenset[uuid.UUID]:
    """Return the clinics a hospital reads for (cached while the access epoch holds)."""
    return access_cache.clinics_read_by(
        session,
        reader_org_id=reader_org_id,
        load=lambda: tenant_service.clinics_read_by(session, reader_org_id=reader_org_id),
    )


def resolve_scope(session: Session, principal: Principal) -> TenantScope:
    """Return what patient data the principal may see; the single place visibility is decided."""
    kind = scope_kind(principal)
    if principal.tenant_id is None or principal.organization_id is None or kind == "none":
        raise Forbidden("This account has no access to patient data.")
    if kind == "admin":
        return TenantScope(tenant_id=principal.tenant_id, organization_ids=None)
    if kind == "reader":
        clinics = clinics_read_by(session, reader_org_id=principal.organization_id)
        return TenantScope(
            tenant_id=principal.tenant_id,
            organization_ids=frozenset([principal.organization_id, *clinics]),
        )
    return TenantScope(
        tenant_id=principal.tenant_id, organization_ids=frozenset([principal.organization_id])
    )
