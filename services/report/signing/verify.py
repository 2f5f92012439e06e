"""Independent checks of a signed report: the CMS over its content and the PAdES in its PDF."""

from __future__ import annotations

import asyncio
import io
from dataclasses import dataclass

from asn1crypto import cms
from pyhanko.keys import load_certs_from_pemder_data
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.generic_cms import async_validate_detached_cms
from pyhanko_certvalidator import ValidationContext


@dataclass(frozen=True)
class SignatureCheck:
    """The outcome of one signature check, with a reason a person can read."""

    valid: bool
    detail: str
    signer: str = ""


def _context(trust_root_pem: bytes) -> ValidationContext:
    return ValidationContext(trust_roots=list(load_certs_from_pemder_data(trust_root_pem)))


def verify_content(content: bytes, signature_der: bytes, trust_root_pem: bytes) -> SignatureCheck:
    """Check a detached CMS signature over ``content`` against the consortium CA."""
    try:
        signed_data = cms.ContentInfo.load(signature_der)["content"]
        status = asyncio.run(
            async_validate_detached_cms(
                content, signed_data, signer_validation_context=_context(trust_root_pem)
            )
        )
    except (ValueError, TypeError, KeyError) as exc:
        return SignatureCheck(False, f"unreadable signature: {type(exc).__name__}")
    signer = status.signing_cert.subject.human_friendly
    if not status.intact:
        return SignatureCheck(False, "the content does not match what was signed", signer)
    if not (status.valid and status.trusted):
        return SignatureCheck(False, "the signature or its certificate is not trusted", signer)
    return SignatureCheck(True, "content signature valid", signer)


def verify_pdf(pdf: bytes, trust_root_pem: bytes) -> SignatureCheck:
    """Check that the PDF carries one intact, trusted signature covering the whole file."""
    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        signatures = reader.embedded_signatures
    except Exception as exc:
        return SignatureCheck(False, f"unreadable PDF: {type(exc).__name__}")
    if len(signatures) != 1:
        return SignatureCheck(False, f"expected one signature, found {len(signatures)}")
    status = validate_pdf_signature(signatures[0], _context(trust_root_pem))
    signer = status.signing_cert.subject.human_friendly
    if not status.intact:
        return SignatureCheck(False, "the PDF was changed after signing", signer)
    if not (status.valid and status.trusted):
        return SignatureCheck(False, "the PDF signature or its certificate is not trusted", signer)
    coverage = status.coverage.name if status.coverage else "nothing"
    if coverage != "ENTIRE_FILE":
        return SignatureCheck(False, f"the signature covers {coverage}, not the whole file", signer)
    return SignatureCheck(True, "PDF signature valid", signer)
