"""A consortium administrator's signing setup: mode, the CA certificate, radiologists' identities.

Every change is audited; every refused import is audited too (in its own transaction), so a
failed attempt to plant a foreign key is on record although the request rolls back.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import aiohttp
from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.audit import service as audit
from services.domain.roles import READER_ROLES
from services.kit.settings import CoreSettings
from services.models import SigningAuthority, SigningIdentity, Tenant, User
from services.report.signing import certificates as certs
from services.report.signing import keystore
from services.report.signing.csc import CscService
from services.report.signing.exceptions import SigningImportRejected

T = TypeVar("T")


class UnknownReader(SigningImportRejected):
    """No radiologist with that id in the caller's consortium (other consortia's users too)."""

    status_code = 404
    code = "user_not_found"


@dataclass(frozen=True)
class IdentityInfo:
    """What an administrator sees of one stored identity (never the key)."""

    id: uuid.UUID
    user_id: uuid.UUID
    subject: str
    fingerprint: str
    remote: bool
    not_valid_after: str


def _info(row: SigningIdentity) -> IdentityInfo:
    cert = x509.load_pem_x509_certificate(row.certificate_pem)
    return IdentityInfo(
        row.id,
        row.user_id,
        cert.subject.rfc4514_string(),
        row.fingerprint,
        row.key_pem is None,
        cert.not_valid_after_utc.isoformat(),
    )


def _audited(
    session: Session, *, actor: str, tenant_id: uuid.UUID, action: str, work: Callable[[], T]
) -> T:
    try:
        return work()
    except SigningImportRejected as exc:
        audit.record_denied(
            session,
            actor=actor,
            action=action,
            object_type="signing",
            tenant_id=tenant_id,
            detail={"reason": exc.code},
        )
        raise


def set_mode(session: Session, *, actor: str, tenant_id: uuid.UUID, mode: str) -> str:
    """Choose local keys or the CA's remote signing service for the whole consortium."""
    tenant = session.get(Tenant, tenant_id)
    assert tenant is not None
    tenant.settings = {**(tenant.settings or {}), "report_signing": {"mode": mode}}
    audit.record(
        session,
        actor=actor,
        action="signing.mode_set",
        object_type="tenant",
        object_id=tenant_id,
        tenant_id=tenant_id,
        detail={"mode": mode},
    )
    return mode


def import_authority(
    session: Session, *, actor: str, tenant_id: uuid.UUID, pem: bytes
) -> SigningAuthority:
    """Make an imported CA certificate (no key) the consortium's trust root."""

    def work() -> SigningAuthority:
        cert = certs.load_certificate(pem, "CA certificate")
        certs.check_authority(cert)
        _refuse_orphans(session, tenant_id, cert)
        row = session.scalar(
            select(SigningAuthority).where(SigningAuthority.tenant_id == tenant_id)
        )
        if row is None:
            row = SigningAuthority(id=uuid.uuid4(), tenant_id=tenant_id)
            session.add(row)
        row.certificate_pem, row.key_pem = certs.pem_of(cert), None
        session.flush()
        audit.record(
            session,
            actor=actor,
            action="signing.authority_imported",
            object_type="signing_authority",
            object_id=row.id,
            tenant_id=tenant_id,
            detail={"fingerprint": keystore.fingerprint(row.certificate_pem)},
        )
        return row

    return _audited(
        session, actor=actor, tenant_id=tenant_id, action="signing.authority_imported", work=work
    )


def _refuse_orphans(session: Session, tenant_id: uuid.UUID, ca: x509.Certificate) -> None:
    """Refuse a CA that did not issue the identities already used: their reports would fail."""
    rows = session.scalars(select(SigningIdentity).where(SigningIdentity.tenant_id == tenant_id))
    for row in rows:
        try:
            x509.load_pem_x509_certificate(row.certificate_pem).verify_directly_issued_by(ca)
        except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm) as exc:
            raise SigningImportRejected(
                "Signing certificates of this consortium were issued by the current CA; "
                "reports they signed would no longer verify under the imported one."
            ) from exc


def _reader(session: Session, tenant_id: uuid.UUID, user_id: uuid.UUID) -> User:
    user = session.get(User, user_id)
    if user is None or user.tenant_id != tenant_id:
        raise UnknownReader("No such user in this consortium.")
    if not set(user.role_names) & set(READER_ROLES):
        raise SigningImportRejected("Only radiologists sign reports.")
    return user


def _store(
    session: Session, user: User, cert: x509.Certificate, fill: Callable[[SigningIdentity], None]
) -> SigningIdentity:
    """Make ``cert`` the user's one active identity (re-using its row if imported before)."""
    assert user.tenant_id is not None
    fingerprint = keystore.fingerprint(certs.pem_of(cert))
    for other in session.scalars(select(SigningIdentity).where(SigningIdentity.user_id == user.id)):
        other.active = False
    row = session.scalar(
        select(SigningIdentity).where(
            SigningIdentity.user_id == user.id, SigningIdentity.fingerprint == fingerprint
        )
    )
    if row is None:
        row = SigningIdentity(id=uuid.uuid4(), tenant_id=user.tenant_id, user_id=user.id)
        session.add(row)
    row.certificate_pem, row.fingerprint, row.active = certs.pem_of(cert), fingerprint, True
    fill(row)
    session.flush()
    return row


def _trust_root(session: Session, settings: CoreSettings, tenant_id: uuid.UUID) -> x509.Certificate:
    pem = keystore.authority(session, settings, tenant_id).certificate_pem
    return x509.load_pem_x509_certificate(pem)


def import_identity(  # noqa: PLR0913 - keyword-only facts of one import
    session: Session,
    settings: CoreSettings,
    *,
    actor: str,
    tenant_id: uuid.UUID,
    user_id: uuid.UUID,
    pkcs12: bytes | None = None,
    certificate_pem: bytes | None = None,
    key_pem: bytes | None = None,
    password: str | None = None,
) -> IdentityInfo:
    """Store a radiologist's certificate and key (PKCS#12, or PEM pair) after checking them."""

    def work() -> IdentityInfo:
        user = _reader(session, tenant_id, user_id)
        if pkcs12 is not None:
            cert, key = certs.load_pkcs12(pkcs12, password)
        elif certificate_pem is not None and key_pem is not None:
            cert = certs.load_certificate(certificate_pem, "signing certificate")
            key = certs.load_pem_key(key_pem, password)
        else:
            raise SigningImportRejected("Send a PKCS#12 file, or a PEM certificate and key.")
        certs.check_pair(cert, key)
        certs.check_signer(cert, _trust_root(session, settings, tenant_id))

        def fill(row: SigningIdentity) -> None:
            phrase = keystore.passphrase(settings, "identity", row.id)
            row.key_pem, row.credential_id = certs.encrypted(key, phrase), None

        row = _store(session, user, cert, fill)
        _record(session, actor, "signing.identity_imported", row)
        return _info(row)

    return _audited(
        session, actor=actor, tenant_id=tenant_id, action="signing.identity_imported", work=work
    )


def register_remote(
    session: Session,
    settings: CoreSettings,
    *,
    actor: str,
    tenant_id: uuid.UUID,
    user_id: uuid.UUID,
    credential_id: str,
) -> IdentityInfo:
    """Bind a radiologist to a credential of the CA's signing service, after checking its cert."""

    def work() -> IdentityInfo:
        user = _reader(session, tenant_id, user_id)
        service = CscService(settings.remote_signing)

        async def fetch(http: aiohttp.ClientSession, token: str) -> x509.Certificate | None:
            if credential_id not in await service.credential_ids(http, token):
                return None
            info = await service.credential(http, token, credential_id)
            return certs.load_certificate(info.signing_cert.dump(), "credential's certificate")

        cert = service.run(fetch, "read the credential")
        if cert is None:
            raise SigningImportRejected("The CA's signing service has no such credential.")
        certs.check_signer(cert, _trust_root(session, settings, tenant_id))

        def fill(row: SigningIdentity) -> None:
            row.key_pem, row.credential_id = None, credential_id

        row = _store(session, user, cert, fill)
        _record(session, actor, "signing.remote_registered", row)
        return _info(row)

    return _audited(
        session, actor=actor, tenant_id=tenant_id, action="signing.remote_registered", work=work
    )


def _record(session: Session, actor: str, action: str, row: SigningIdentity) -> None:
    audit.record(
        session,
        actor=actor,
        action=action,
        object_type="signing_identity",
        object_id=row.id,
        tenant_id=row.tenant_id,
        detail={"user_id": str(row.user_id), "fingerprint": row.fingerprint},
    )


def identities(session: Session, tenant_id: uuid.UUID) -> list[IdentityInfo]:
    """Return the consortium's active signing identities."""
    stmt = select(SigningIdentity).where(
        SigningIdentity.tenant_id == tenant_id, SigningIdentity.active.is_(True)
    )
    return [_info(row) for row in session.scalars(stmt.order_by(SigningIdentity.created_at))]
