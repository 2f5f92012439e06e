"""Writing and signing reports; the PDF is rendered afterwards by a worker, never in a request."""

from __future__ import annotations

import hashlib
import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.audit import service as audit
from services.auth.principal import Principal
from services.contracts.task_names import QUEUE_DEFAULT, RENDER_REPORT_PDF
from services.domain.study_status import StudyStatus
from services.kit.clock import utc_now
from services.kit.db import enqueue
from services.kit.settings import CoreSettings
from services.models import Report, Study, User
from services.report.canonical import canonical_content
from services.report.exceptions import ReportAlreadySigned, ReportIncomplete, ReportNotFound
from services.report.signing import keystore
from services.report.signing.verification import ReportVerification, verify_report
from services.report.storage import object_store
from services.study import transitions
from services.worklist import service as worklist_service


def latest(session: Session, *, study_id: uuid.UUID) -> Report | None:
    """Return the newest version of a study's report."""
    stmt = select(Report).where(Report.study_id == study_id).order_by(Report.version.desc())
    return session.scalars(stmt.limit(1)).first()


def save_draft(
    session: Session,
    *,
    principal: Principal,
    study: Study,
    findings: str,
    impression: str,
    language: str,
) -> Report:
    """Create or update the draft of the study the caller has claimed."""
    worklist_service.require_claim(session, principal=principal, study_id=study.id)
    report = latest(session, study_id=study.id)
    if report is not None and report.status != "DRAFT":
        raise ReportAlreadySigned("This report is signed; corrections are made by addendum.")
    if report is None:
        assert principal.user_id is not None
        report = Report(
            tenant_id=study.tenant_id, study_id=study.id, version=1, author_id=principal.user_id
        )
        session.add(report)
    report.findings = findings
    report.impression = impression
    report.language = language
    session.flush()
    return report


def _sign_content(
    session: Session,
    settings: CoreSettings,
    *,
    principal: Principal,
    report: Report,
    content: bytes,
) -> None:
    assert principal.user_id is not None
    author = session.get(User, principal.user_id)
    assert author is not None
    identity = keystore.identity(session, settings, author)
    report.content_signature = keystore.signer(session, settings, identity).sign_content(content)
    report.signer_identity_id = identity.id


def sign(session: Session, settings: CoreSettings, *, principal: Principal, study: Study) -> Report:
    """Sign the caller's draft: freeze it, close the worklist item, and queue the PDF."""
    report = latest(session, study_id=study.id)
    if report is not None and report.status != "DRAFT":
        raise ReportAlreadySigned("This report is already signed; corrections are addenda.")
    item = worklist_service.require_claim(session, principal=principal, study_id=study.id)
    if report is None:
        raise ReportNotFound("Write the report before signing it.")
    if not report.findings.strip() or not report.impression.strip():
        raise ReportIncomplete("A report needs findings and an impression before it is signed.")
    report.status = "FINAL"
    report.signed_at = utc_now()
    content = canonical_content(report, study)
    report.content_sha256 = hashlib.sha256(content).hexdigest()
    _sign_content(session, settings, principal=principal, report=report, content=content)
    worklist_service.mark_reported(item=item)
    transitions.move(session, study, StudyStatus.REPORTED, actor=principal.actor)
    audit.record(
        session,
        actor=principal.actor,
        action="report.signed",
        object_type="report",
        object_id=report.id,
        tenant_id=study.tenant_id,
        study_id=study.id,
        detail={"content_sha256": report.content_sha256},
    )
    session.flush()
    enqueue(session, RENDER_REPORT_PDF, queue=QUEUE_DEFAULT, report_id=str(report.id))
    return report


def verify_signed_report(
    session: Session, settings: CoreSettings, *, report: Report
) -> ReportVerification:
    """Verify a signed report and its stored PDF (if rendered yet)."""
    pdf = object_store(settings).get(report.pdf_key) if report.pdf_key else None
    return verify_report(session, settings, report=report, pdf=pdf)
