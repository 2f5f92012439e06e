"""The reader's decision on each AI finding offered in a draft: accept, reject or edit.

Each decision is kept per report version and finding in ``report_finding_decisions``, which
model monitoring reads to see how often readers agree with each model version.
"""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from services.auth.principal import Principal
from services.domain.report_lifecycle import ReportStatus
from services.domain.report_narrative import DECISIONS, apply_decision
from services.kit.clock import utc_now
from services.models import Report, ReportFindingDecision, Study
from services.report import drafting, repository
from services.report.exceptions import (
    AiFindingNotOffered,
    DraftRejected,
    ReportAlreadySigned,
    ReportNotFound,
)


def _draft(session: Session, principal: Principal, study: Study) -> Report:
    report = repository.latest(session, study.id)
    if report is None:
        raise ReportNotFound("Start the report from a template first.")
    if report.status != ReportStatus.DRAFT:
        raise ReportAlreadySigned("This report is signed; its AI decisions are final.")
    drafting.require_author(report, principal)
    return report


def decide(
    session: Session,
    *,
    principal: Principal,
    study: Study,
    finding_id: uuid.UUID,
    decision: str,
    edited_value: str | None,
) -> Report:
    """Record the reader's decision on one offered AI finding and update the draft."""
    report = _draft(session, principal, study)
    template = drafting.template_of(session, report)
    structured = dict(report.structured or {})
    offered = [dict(item) for item in structured.get("ai", [])]
    entry = next((i for i in offered if i["finding_id"] == str(finding_id)), None)
    if template is None or entry is None:
        raise AiFindingNotOffered("This AI finding is not offered in the study's draft.")
    text = (edited_value or "").strip()
    if decision not in DECISIONS or (decision == "edit" and not text):
        raise DraftRejected("Decide 'accept', 'reject', or 'edit' with the edited text.")
    entry["decision"], entry["edited_value"] = decision, text if decision == "edit" else ""
    values = dict(structured.get("values", {}))
    if entry.get("field_id"):
        values[entry["field_id"]] = apply_decision(values.get(entry["field_id"]), decision, text)
    report.structured = {**structured, "values": values, "ai": offered}
    drafting.recompose(report, template)
    report.revision += 1
    _store(session, report, principal, finding_id, decision, text if decision == "edit" else None)
    return report


def _store(
    session: Session,
    report: Report,
    principal: Principal,
    finding_id: uuid.UUID,
    decision: str,
    edited_value: str | None,
) -> None:
    assert principal.user_id is not None
    row = repository.decision(session, report.id, finding_id)
    if row is None:
        row = ReportFindingDecision(
            tenant_id=report.tenant_id, report_id=report.id, finding_id=finding_id
        )
        session.add(row)
    row.decision, row.edited_value = decision, edited_value
    row.reader_id, row.decided_at = principal.user_id, utc_now()
    session.flush()


def of_report(session: Session, report: Report) -> list[ReportFindingDecision]:
    """Return the decisions recorded on a report version."""
    return repository.decisions(session, report.id)
