"""Writing and signing reports; the PDF is rendered afterwards by a worker, never in a request."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.orm import Session

from services.auth.principal import Principal
from services.critical import service as critical_service
from services.domain.report_lifecycle import VersionKind
from services.kit.settings import CoreSettings
from services.models import Report, Study
from services.report import drafting, repository, signoff
from services.report.exceptions import DraftRejected
from services.report.signing.verification import ReportVerification, verify_report
from services.report.storage import object_store
from services.worklist import claims as worklist_claims
from services.worklist import service as worklist_service


def latest(session: Session, *, study_id: uuid.UUID) -> Report | None:
    """Return the newest version of a study's report (a draft correction included)."""
    return repository.latest(session, study_id)


def latest_signed(session: Session, *, study_id: uuid.UUID) -> Report | None:
    """Return the newest signed version of a study's report: what the clinic sees."""
    return repository.latest_signed(session, study_id)


def save_draft(  # noqa: PLR0913 - keyword-only parts of one autosave
    session: Session,
    *,
    principal: Principal,
    study: Study,
    findings: str | None,
    impression: str | None,
    language: str,
    values: dict[str, Any] | None = None,
    expected_revision: int | None = None,
) -> Report:
    """Autosave the caller's draft: free text, or the values of the template it is written from.

    ``expected_revision`` (the ETag the client loaded) refuses a save over a newer draft. A
    saved first version renews the caller's claim: the reader is working on the study.
    """
    report = drafting.open_draft(session, principal=principal, study=study)
    drafting.check_revision(report, expected_revision)
    template = drafting.template_of(session, report)
    if template is not None:
        if values is None:
            raise DraftRejected("This draft is written from a template: send its 'values'.")
        drafting.save_values(report, template, values)
    else:
        if findings is None or impression is None or values is not None:
            raise DraftRejected(
                "A free-text draft needs 'findings' and 'impression'; start from a template "
                "to send structured 'values'."
            )
        report.findings, report.impression, report.language = findings, impression, language
    report.revision = (report.revision or 0) + 1
    session.flush()
    if report.kind == VersionKind.ORIGINAL:
        item = worklist_service.require_claim(session, principal=principal, study_id=study.id)
        worklist_claims.renew(session, principal=principal, item_id=item.id)
    return report


def sign(
    session: Session,
    settings: CoreSettings,
    *,
    principal: Principal,
    study: Study,
    emergency_reason: str | None = None,
) -> Report:
    """Sign the caller's draft: freeze it, close the worklist item, queue the PDF when final."""
    report = signoff.sign_as_author(
        session, settings, principal=principal, study=study, emergency_reason=emergency_reason
    )
    critical_service.on_report_signed(session, report)  # tells the clinic at once
    return report


def verify_signed_report(
    session: Session, settings: CoreSettings, *, report: Report
) -> ReportVerification:
    """Verify a signed report and its stored PDF (if rendered yet)."""
    pdf = object_store(settings).get(report.pdf_key) if report.pdf_key else None
    return verify_report(session, settings, report=report, pdf=pdf)
