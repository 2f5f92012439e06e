"""Writing a report version: autosaved drafts, templates with AI findings pre-filled, decisions.

The author owns a draft. The first version also needs the study's worklist claim; a later
version (correction or addendum) needs only its author. Every save bumps ``revision``, which
clients send back (If-Match) so two tabs or two readers cannot overwrite each other silently.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.orm import Session

from services.audit import service as audit
from services.auth.principal import Principal
from services.domain.report_lifecycle import ReportStatus, VersionKind
from services.domain.report_narrative import (
    AiSuggestion,
    DraftInvalid,
    check_values,
    compose,
)
from services.domain.report_template import TemplateDefinition
from services.finding import service as finding_service
from services.models import AiFinding, Report, ReportTemplate, Study
from services.report import repository, template_service
from services.report.exceptions import (
    DraftChanged,
    DraftRejected,
    NotYourDraft,
    ReportAlreadySigned,
)
from services.worklist import service as worklist_service


def require_author(report: Report, principal: Principal) -> None:
    """Refuse anyone but the draft's author."""
    if report.author_id != principal.user_id:
        raise NotYourDraft(
            "This draft was written by another reader; only its author can edit or sign it."
        )


def open_draft(session: Session, *, principal: Principal, study: Study) -> Report:
    """Return the draft the caller may write, creating version 1 if the study has no report."""
    report = repository.latest(session, study.id)
    if report is not None and report.status != ReportStatus.DRAFT:
        raise ReportAlreadySigned(
            "This report is signed and cannot change; write a correction or addendum instead."
        )
    if report is None or report.kind == VersionKind.ORIGINAL:
        worklist_service.require_claim(session, principal=principal, study_id=study.id)
    assert principal.user_id is not None
    if report is None:
        report = Report(
            tenant_id=study.tenant_id,
            study_id=study.id,
            version=1,
            author_id=principal.user_id,
            revision=0,
            findings="",
            impression="",
        )
        session.add(report)
    elif report.author_id != principal.user_id:
        if report.kind != VersionKind.ORIGINAL:
            require_author(report, principal)
        _take_over(session, report, principal)
    return report


def _take_over(session: Session, report: Report, principal: Principal) -> None:
    # The claim moved to the caller (released or taken over): the draft moves with it.
    assert principal.user_id is not None
    audit.record(
        session,
        actor=principal.actor,
        action="report.draft_taken_over",
        object_type="report",
        object_id=report.id,
        tenant_id=report.tenant_id,
        study_id=report.study_id,
        detail={"previous_author_id": str(report.author_id)},
    )
    report.author_id = principal.user_id


def check_revision(report: Report, expected: int | None) -> None:
    """Refuse a save based on an older revision of the draft (a lost update)."""
    if expected is not None and report.revision and expected != report.revision:
        raise DraftChanged(
            f"The draft changed since you loaded it (now revision {report.revision}, yours "
            f"{expected}); reload it, merge your changes and save again."
        )


def template_of(session: Session, report: Report) -> TemplateDefinition | None:
    """Return the template a draft is written from, if any."""
    if report.template_id is None:
        return None
    row = session.get(ReportTemplate, report.template_id)
    assert row is not None
    return template_service.definition(row)


def suggestions(report: Report) -> list[AiSuggestion]:
    """Return the AI findings offered in a structured draft."""
    return [
        AiSuggestion(
            finding_id=item["finding_id"],
            label=item["label"],
            field_id=item.get("field_id"),
            decision=item.get("decision"),
            edited_value=item.get("edited_value") or "",
        )
        for item in (report.structured or {}).get("ai", [])
    ]


def pending_decisions(report: Report) -> int:
    """Return how many offered AI findings still wait for the reader's decision."""
    return sum(1 for s in suggestions(report) if s.decision is None)


def recompose(report: Report, template: TemplateDefinition) -> None:
    """Rewrite the narrative text from the structured values and decided AI findings."""
    offered = suggestions(report)
    pending = {s.field_id for s in offered if s.decision is None and s.field_id}
    values = (report.structured or {}).get("values", {})
    shown = {k: v for k, v in values.items() if k not in pending}
    narrative = compose(template, shown, offered)
    report.findings, report.impression = narrative.findings, narrative.impression


def save_values(report: Report, template: TemplateDefinition, values: dict[str, Any]) -> None:
    """Store checked structured values in a draft and recompose its text."""
    try:
        check_values(template, values)
    except DraftInvalid as exc:
        raise DraftRejected("The draft was not saved: " + "; ".join(exc.problems)) from exc
    report.structured = {**(report.structured or {}), "values": values}
    recompose(report, template)


def _offer(
    template: TemplateDefinition, findings: list[AiFinding]
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    values: dict[str, Any] = {
        f.id: f.default for s in template.sections for f in s.fields if f.default is not None
    }
    offered = []
    for finding in findings:
        target = next(
            (f for f in template.fields().values() if f.takes_ai_code(finding.code)), None
        )
        field_id = target.id if target is not None and target.id not in values else None
        if field_id is not None:
            values[field_id] = {"present": True, "detail": "", "ai_finding_id": str(finding.id)}
        label = finding.label_zh if template.language == "zh-CN" else finding.label_en
        offered.append(
            {
                "finding_id": str(finding.id),
                "code": finding.code,
                "label": label,
                "score": finding.score,
                "model": f"{finding.model_name} {finding.model_version}",
                "field_id": field_id,
                "decision": None,
                "edited_value": "",
            }
        )
    return values, offered


def start_from_template(
    session: Session, *, principal: Principal, study: Study, template_id: uuid.UUID
) -> Report:
    """Start (or restart) the draft from a template, with the study's AI findings offered."""
    assert principal.tenant_id is not None
    row = template_service.get_visible(
        session, tenant_id=principal.tenant_id, template_id=template_id
    )
    template = template_service.definition(row)
    report = open_draft(session, principal=principal, study=study)
    values, offered = _offer(template, finding_service.of_study(session, study.id))
    report.template_id = row.id
    report.language = template.language
    report.structured = {"values": values, "ai": offered}
    recompose(report, template)
    report.revision = (report.revision or 0) + 1
    session.flush()
    audit.record(
        session,
        actor=principal.actor,
        action="report.template_applied",
        object_type="report",
        object_id=report.id,
        tenant_id=study.tenant_id,
        study_id=study.id,
        detail={"template_id": str(row.id), "ai_findings_offered": len(offered)},
    )
    return report
