"""Signing setup for consortium admins (audited): mode, CA import, identity import or remote."""

from __future__ import annotations

import base64
import uuid
from typing import Annotated, Literal, cast

from cryptography import x509
from fastapi import APIRouter, Depends
from sqlalchemy import select

from services.auth.dependencies import require_roles
from services.auth.principal import Principal
from services.domain.roles import Role
from services.kit.http import DbSession, Settings
from services.models import SigningAuthority
from services.report.signing import admin, keystore
from services.report.signing_schemas import (
    AuthorityBody,
    AuthorityRead,
    IdentityImport,
    IdentityRead,
    ModeBody,
    RemoteIdentity,
    SigningSetupRead,
)

router = APIRouter(prefix="/api/v1/signing", tags=["signing"])
Admin = Annotated[Principal, Depends(require_roles(Role.CONSORTIUM_ADMIN))]


def _tenant(principal: Principal) -> uuid.UUID:
    assert principal.tenant_id is not None  # consortium admins always belong to a tenant
    return principal.tenant_id


def _authority(row: SigningAuthority) -> AuthorityRead:
    cert = x509.load_pem_x509_certificate(row.certificate_pem)
    return AuthorityRead(
        subject=cert.subject.rfc4514_string(),
        fingerprint=keystore.fingerprint(row.certificate_pem),
        has_key=row.key_pem is not None,
    )


@router.get("", response_model=SigningSetupRead)
def get_setup(session: DbSession, principal: Admin) -> SigningSetupRead:
    """Show how the consortium signs, its CA and its radiologists' identities."""
    tenant_id = _tenant(principal)
    row = session.scalar(select(SigningAuthority).where(SigningAuthority.tenant_id == tenant_id))
    return SigningSetupRead(
        mode=cast(Literal["local", "remote"], keystore.mode(session, tenant_id)),
        authority=_authority(row) if row is not None else None,
        identities=[IdentityRead.of(i) for i in admin.identities(session, tenant_id)],
    )


@router.put("/mode", response_model=ModeBody)
def put_mode(session: DbSession, principal: Admin, body: ModeBody) -> ModeBody:
    """Sign with keys held here, or through the CA's remote signing service."""
    admin.set_mode(session, actor=principal.actor, tenant_id=_tenant(principal), mode=body.mode)
    return body


@router.put("/authority", response_model=AuthorityRead)
def put_authority(session: DbSession, principal: Admin, body: AuthorityBody) -> AuthorityRead:
    """Import the consortium CA certificate: the trust root every signature is checked against."""
    row = admin.import_authority(
        session,
        actor=principal.actor,
        tenant_id=_tenant(principal),
        pem=body.certificate_pem.encode(),
    )
    return _authority(row)


@router.post("/identities", response_model=IdentityRead)
def import_identity(
    session: DbSession, settings: Settings, principal: Admin, body: IdentityImport
) -> IdentityRead:
    """Import a radiologist's certificate and key (PKCS#12 or PEM); it becomes their identity."""
    info = admin.import_identity(
        session,
        settings,
        actor=principal.actor,
        tenant_id=_tenant(principal),
        user_id=body.user_id,
        pkcs12=base64.b64decode(body.pkcs12_base64) if body.pkcs12_base64 else None,
        certificate_pem=body.certificate_pem.encode() if body.certificate_pem else None,
        key_pem=body.key_pem.encode() if body.key_pem else None,
        password=body.password,
    )
    return IdentityRead.of(info)


@router.post("/identities/remote", response_model=IdentityRead)
def register_remote(
    session: DbSession, settings: Settings, principal: Admin, body: RemoteIdentity
) -> IdentityRead:
    """Bind a radiologist to a credential of the CA's remote signing service (CSC API v2)."""
    info = admin.register_remote(
        session,
        settings,
        actor=principal.actor,
        tenant_id=_tenant(principal),
        user_id=body.user_id,
        credential_id=body.credential_id,
    )
    return IdentityRead.of(info)
