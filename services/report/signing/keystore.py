"""Where signing keys live: the tenant's CA and each radiologist's identity, keys encrypted.

An identity holds either a key (issued here or imported) or the id of a credential at the CA's
remote signing service (``key_pem`` None); ``signer`` hands out the matching ``ReportSigner``.

Each key is encrypted with a passphrase derived (HMAC-SHA256) from the platform secret and the
row's id, so a database dump alone does not hand out signing keys.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.kit.settings import CoreSettings
from services.models import Organization, SigningAuthority, SigningIdentity, Tenant, User
from services.report.signing.ca import KeyPair, create_authority, issue_signer
from services.report.signing.exceptions import SigningUnavailable
from services.report.signing.local import LocalSigner
from services.report.signing.port import ReportSigner
from services.report.signing.remote import RemoteSigner

LOCAL, REMOTE = "local", "remote"  # a consortium's signing mode (tenant settings "report_signing")


def passphrase(settings: CoreSettings, purpose: str, row_id: uuid.UUID) -> bytes:
    """Return the passphrase protecting one stored key."""
    secret = settings.auth.signing_key.get_secret_value().encode()
    return hmac.new(secret, f"{purpose}:{row_id}".encode(), hashlib.sha256).hexdigest().encode()


def fingerprint(certificate_pem: bytes) -> str:
    """Return the SHA-256 fingerprint of a certificate, hex."""
    return x509.load_pem_x509_certificate(certificate_pem).fingerprint(hashes.SHA256()).hex()


def mode(session: Session, tenant_id: uuid.UUID) -> str:
    """Return how the consortium signs: keys held here (default) or the CA's remote service."""
    tenant = session.get(Tenant, tenant_id)
    value = ((tenant.settings if tenant else {}).get("report_signing") or {}).get("mode")
    return REMOTE if value == REMOTE else LOCAL


def authority(session: Session, settings: CoreSettings, tenant_id: uuid.UUID) -> SigningAuthority:
    """Return the tenant's CA, creating one for the local default on first use."""
    found = session.scalar(select(SigningAuthority).where(SigningAuthority.tenant_id == tenant_id))
    if found is not None:
        return found
    tenant = session.get(Tenant, tenant_id)
    assert tenant is not None
    row = SigningAuthority(id=uuid.uuid4(), tenant_id=tenant_id)
    pair = create_authority(
        f"{tenant.name} Report Signing CA", tenant.name, passphrase(settings, "ca", row.id)
    )
    row.certificate_pem, row.key_pem = pair.certificate_pem, pair.key_pem
    session.add(row)
    session.flush()
    return row


def identity(session: Session, settings: CoreSettings, user: User) -> SigningIdentity:
    """Return the user's active signing identity, issuing one from the tenant CA if needed."""
    stmt = select(SigningIdentity).where(
        SigningIdentity.user_id == user.id, SigningIdentity.active.is_(True)
    )
    found = session.scalars(stmt.limit(1)).first()
    if found is not None:
        return found
    assert user.tenant_id is not None
    if mode(session, user.tenant_id) == REMOTE:
        raise SigningUnavailable(
            "Your consortium signs through its CA's remote signing service and no credential "
            "is registered for you; ask the consortium administrator to register one."
        )
    ca = authority(session, settings, user.tenant_id)
    if ca.key_pem is None:
        raise SigningUnavailable(
            "The consortium CA was imported without its key, so RadBridge cannot issue you a "
            "certificate; ask the consortium administrator to import yours."
        )
    org = session.get(Organization, user.organization_id) if user.organization_id else None
    row = SigningIdentity(id=uuid.uuid4(), tenant_id=user.tenant_id, user_id=user.id)
    pair = issue_signer(
        KeyPair(ca.certificate_pem, ca.key_pem),
        passphrase(settings, "ca", ca.id),
        common_name=user.display_name,
        organization=org.name if org else "",
        passphrase=passphrase(settings, "identity", row.id),
    )
    row.certificate_pem, row.key_pem = pair.certificate_pem, pair.key_pem
    row.fingerprint = fingerprint(pair.certificate_pem)
    session.add(row)
    session.flush()
    return row


def signer(session: Session, settings: CoreSettings, row: SigningIdentity) -> ReportSigner:
    """Return the signer of a stored identity: its key here, or its credential at the CA."""
    if row.key_pem is None:
        if not row.credential_id:
            raise SigningUnavailable("This signing identity has neither a key nor a credential.")
        return RemoteSigner(
            settings=settings.remote_signing,
            credential_id=row.credential_id,
            certificate_pem=row.certificate_pem,
        )
    ca = authority(session, settings, row.tenant_id)
    return LocalSigner(
        certificate_pem=row.certificate_pem,
        key_pem=row.key_pem,
        passphrase=passphrase(settings, "identity", row.id),
        chain_pem=ca.certificate_pem,
    )
