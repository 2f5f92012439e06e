"""Verify a signed report end to end: stored content, its signature, the PDF and its signature."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlalchemy.orm import Session

from services.kit.settings import CoreSettings
from services.models import Report, SigningIdentity, Study
from services.report.canonical import canonical_content, countersigned_content
from services.report.signing import keystore
from services.report.signing.verify import SignatureCheck, verify_content, verify_pdf


@dataclass(frozen=True)
class ReportVerification:
    """Every check made on one report version."""

    report_id: str
    content_hash: SignatureCheck
    content_signature: SignatureCheck
    pdf_hash: SignatureCheck
    pdf_signature: SignatureCheck
    countersignature: SignatureCheck | None = None  # only on double-signed (双签) versions

    @property
    def valid(self) -> bool:
        """Return whether every check passed."""
        checks = (self.content_hash, self.content_signature, self.pdf_hash, self.pdf_signature)
        extra = (self.countersignature,) if self.countersignature is not None else ()
        return all(c.valid for c in (*checks, *extra))


def _content_checks(
    report: Report, study: Study, trust_root: bytes
) -> tuple[SignatureCheck, SignatureCheck]:
    content = canonical_content(report, study)
    digest_ok = hashlib.sha256(content).hexdigest() == report.content_sha256
    digest = SignatureCheck(
        digest_ok, "content matches its recorded hash" if digest_ok else "content was changed"
    )
    if report.content_signature is None:
        return digest, SignatureCheck(False, "the report has no content signature")
    return digest, verify_content(content, report.content_signature, trust_root)


def _pdf_checks(
    report: Report, pdf: bytes | None, trust_root: bytes
) -> tuple[SignatureCheck, SignatureCheck]:
    if pdf is None:
        missing = SignatureCheck(False, "the PDF is not rendered yet")
        return missing, missing
    hash_ok = hashlib.sha256(pdf).hexdigest() == report.pdf_sha256
    pdf_hash = SignatureCheck(
        hash_ok, "PDF matches its recorded hash" if hash_ok else "the stored PDF was changed"
    )
    signatures = 2 if report.cosigner_identity_id is not None else 1
    return pdf_hash, verify_pdf(pdf, trust_root, expected=signatures)


def _countersignature(report: Report, study: Study, trust_root: bytes) -> SignatureCheck | None:
    if report.cosigner_id is None:
        return None
    if report.cosign_signature is None:
        return SignatureCheck(False, "the countersignature is missing")
    return verify_content(countersigned_content(report, study), report.cosign_signature, trust_root)


def verify_report(
    session: Session, settings: CoreSettings, *, report: Report, pdf: bytes | None
) -> ReportVerification:
    """Check a signed report against the consortium CA; ``pdf`` is the stored PDF, if any."""
    study = session.get(Study, report.study_id)
    assert study is not None
    trust_root = keystore.authority(session, settings, report.tenant_id).certificate_pem
    if report.signer_identity_id is not None:
        assert session.get(SigningIdentity, report.signer_identity_id) is not None
    content_hash, content_signature = _content_checks(report, study, trust_root)
    pdf_hash, pdf_signature = _pdf_checks(report, pdf, trust_root)
    return ReportVerification(
        str(report.id),
        content_hash,
        content_signature,
        pdf_hash,
        pdf_signature,
        _countersignature(report, study, trust_root),
    )
