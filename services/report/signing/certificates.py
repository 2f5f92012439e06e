"""Checks on certificates and keys a consortium imports, before RadBridge signs or trusts them.

A signing certificate must be issued by the consortium CA, be valid now and allow document
signing (digitalSignature or nonRepudiation); otherwise verification would fail later, far from
the administrator who could fix it. Every refusal is a ``SigningImportRejected`` (422).
"""

from __future__ import annotations

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12

from services.kit.clock import utc_now
from services.report.signing.exceptions import SigningImportRejected

SignerKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


def der_of(certificate_pem: bytes) -> bytes:
    """Return the DER encoding of a PEM certificate."""
    return x509.load_pem_x509_certificate(certificate_pem).public_bytes(serialization.Encoding.DER)


def pem_of(cert: x509.Certificate) -> bytes:
    """Return a certificate as PEM."""
    return cert.public_bytes(serialization.Encoding.PEM)


def load_certificate(data: bytes, what: str) -> x509.Certificate:
    """Parse one PEM or DER certificate."""
    try:
        if b"-----BEGIN" in data:
            return x509.load_pem_x509_certificate(data)
        return x509.load_der_x509_certificate(data)
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise SigningImportRejected(f"The {what} is not a readable X.509 certificate.") from exc


def _check_valid_now(cert: x509.Certificate, what: str) -> None:
    now = utc_now()
    if now < cert.not_valid_before_utc:
        raise SigningImportRejected(f"The {what} is not valid before {cert.not_valid_before_utc}.")
    if now > cert.not_valid_after_utc:
        raise SigningImportRejected(f"The {what} expired on {cert.not_valid_after_utc}.")


def _extension(cert: x509.Certificate, kind: type[x509.ExtensionType]) -> x509.ExtensionType | None:
    try:
        return cert.extensions.get_extension_for_class(kind).value
    except x509.ExtensionNotFound:
        return None


def check_authority(cert: x509.Certificate) -> None:
    """Refuse a consortium CA certificate that is not a CA, not valid now, or of an unknown key."""
    constraints = _extension(cert, x509.BasicConstraints)
    if not isinstance(constraints, x509.BasicConstraints) or not constraints.ca:
        raise SigningImportRejected("The certificate is not a CA certificate (basicConstraints).")
    _check_valid_now(cert, "CA certificate")
    _check_public_key(cert, "CA certificate")


def _check_public_key(cert: x509.Certificate, what: str) -> None:
    try:
        key = cert.public_key()
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise SigningImportRejected(
            f"The {what} uses a key algorithm RadBridge cannot verify (SM2 needs the CA's "
            "verification service; see docs/adr/0004-remote-signing.md)."
        ) from exc
    if not isinstance(key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey):
        raise SigningImportRejected(f"The {what} key must be RSA or ECDSA.")


def check_signer(cert: x509.Certificate, authority: x509.Certificate) -> None:
    """Refuse a signing certificate the consortium CA did not issue, expired, or not for signing."""
    _check_public_key(cert, "signing certificate")
    try:
        cert.verify_directly_issued_by(authority)
    except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm) as exc:
        raise SigningImportRejected(
            "The signing certificate was not issued by the consortium CA."
        ) from exc
    _check_valid_now(cert, "signing certificate")
    usage = _extension(cert, x509.KeyUsage)
    if not isinstance(usage, x509.KeyUsage) or not (
        usage.digital_signature or usage.content_commitment
    ):
        raise SigningImportRejected(
            "The signing certificate does not allow signing "
            "(keyUsage needs digitalSignature or nonRepudiation)."
        )


def _private_key(key: object) -> SignerKey:
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise SigningImportRejected("The private key must be RSA or ECDSA.")
    return key


def load_pkcs12(data: bytes, password: str | None) -> tuple[x509.Certificate, SignerKey]:
    """Return the certificate and key of a PKCS#12 bundle."""
    try:
        bundle = pkcs12.load_pkcs12(data, password.encode() if password else None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise SigningImportRejected(
            "The PKCS#12 file cannot be opened (wrong password or not PKCS#12)."
        ) from exc
    if bundle.cert is None or bundle.key is None:
        raise SigningImportRejected("The PKCS#12 file must hold one certificate and its key.")
    return bundle.cert.certificate, _private_key(bundle.key)


def load_pem_key(data: bytes, password: str | None) -> SignerKey:
    """Return a PEM private key (encrypted with ``password`` or not)."""
    try:
        key = serialization.load_pem_private_key(data, password.encode() if password else None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise SigningImportRejected(
            "The private key cannot be read (wrong password or not PEM)."
        ) from exc
    return _private_key(key)


def check_pair(cert: x509.Certificate, key: SignerKey) -> None:
    """Refuse a key that does not belong to the certificate."""
    raw = serialization.PublicFormat.SubjectPublicKeyInfo
    mine = key.public_key().public_bytes(serialization.Encoding.DER, raw)
    if cert.public_key().public_bytes(serialization.Encoding.DER, raw) != mine:
        raise SigningImportRejected("The private key does not belong to the certificate.")


def encrypted(key: SignerKey, passphrase: bytes) -> bytes:
    """Return the key as encrypted PKCS#8 PEM, as every stored key is kept."""
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(passphrase),
    )
