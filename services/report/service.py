"""Writing and signing reports; the PDF is rendered afterwards by a worker, never in a request."""

from __future__ import annotations

import hashlib
import json
import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.audit import service as audit
from services.auth.principal import Principal
from services.contracts.task_names import QUEUE_DEFAULT, RENDER_REPORT_PDF
from services.domain.study_status import StudyStatus
from services.kit.clock import utc_now
from services.kit.db import enqueue
from services.models import Report, Study
from services.report.exceptions import ReportAlreadySigned, ReportIncomplete, ReportNotFound
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


def canonical_content(report: Report, study: Study) -> bytes:
    """Return the bytes a signature covers: the report's content in a canonical JSON form."""
    content = {
        "report_id": str(report.id),
        "version": report.version,
        "study_instance_uid": study.study_instance_uid,
        "author_id": str(report.author_id),
        "language": report.language,
        "findings": report.findings,
        "impression": report.impression,
        "signed_at": report.signed_at.isoformat() if report.signed_at else None,
    }
    return json.dumps(content, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def sign(session: Session, *, principal: Principal, study: Study) -> Report:
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
    report.content_sha256 = hashlib.sha256(canonical_content(report, study)).hexdigest()
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
