"""Independent checks of a signed report: the CMS over its content and the PAdES in its PDF."""

from __future__ import annotations

import asyncio
import io
from dataclasses import dataclass
from typing import Any

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


def verify_pdf(pdf: bytes, trust_root_pem: bytes, *, expected: int = 1) -> SignatureCheck:
    """Check that the PDF carries ``expected`` intact, trusted signatures.

    The last one must cover the whole file; earlier ones (the author's, under a reviewer's
    countersignature) must cover their own revision, with nothing but signing added after.
    """
    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        signatures = reader.embedded_signatures
    except Exception as exc:
        return SignatureCheck(False, f"unreadable PDF: {type(exc).__name__}")
    if len(signatures) != expected:
        return SignatureCheck(False, f"expected {expected} signature(s), found {len(signatures)}")
    checks = [
        _check_signature(embedded, trust_root_pem, last=n == len(signatures))
        for n, embedded in enumerate(signatures, start=1)
    ]
    failed = [check for check in checks if not check.valid]
    if failed:
        return failed[0]
    detail = "PDF signature valid" if expected == 1 else f"{expected} PDF signatures valid"
    return SignatureCheck(True, detail, "; ".join(check.signer for check in checks))


def _check_signature(embedded: Any, trust_root_pem: bytes, *, last: bool) -> SignatureCheck:
    status = validate_pdf_signature(embedded, _context(trust_root_pem))
    signer = status.signing_cert.subject.human_friendly
    coverage = status.coverage.name if status.coverage else "nothing"
    level = status.modification_level.name if status.modification_level else "OTHER"
    if not status.intact:
        return SignatureCheck(False, "the PDF was changed after signing", signer)
    if not (status.valid and status.trusted):
        return SignatureCheck(False, "the PDF signature or its certificate is not trusted", signer)
    if last and coverage != "ENTIRE_FILE":
        return SignatureCheck(False, f"the signature covers {coverage}, not the whole file", signer)
    if not last and (coverage != "ENTIRE_REVISION" or level not in _SIGNING_ONLY):
        return SignatureCheck(False, "the PDF was changed after the first signature", signer)
    return SignatureCheck(True, "valid", signer)


# Changes pyHanko's difference analysis allows after an earlier signature: adding a signature.
_SIGNING_ONLY = ("NONE", "LTA_UPDATES", "FORM_FILLING")
