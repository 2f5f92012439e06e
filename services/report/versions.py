"""Report history: corrections and addenda as new versions; every version kept and readable."""

from __future__ import annotations

import copy

from sqlalchemy.orm import Session

from services.audit import service as audit
from services.auth.principal import Principal
from services.domain.report_lifecycle import COMPLETE, VersionKind, parse_status
from services.models import Report, Study
from services.report import repository
from services.report.exceptions import AddendumNotPossible, ReportNotFound


def start_amendment(
    session: Session, *, principal: Principal, study: Study, kind: VersionKind, reason: str
) -> Report:
    """Open a new draft version that corrects or adds to the newest complete version."""
    latest = repository.latest(session, study.id)
    if latest is None:
        raise ReportNotFound("This study has no report to correct yet.")
    if parse_status(latest.status) not in COMPLETE:
        raise AddendumNotPossible(
            f"Version {latest.version} is {latest.status}; finish (sign or countersign) it "
            "before starting a correction or addendum."
        )
    assert principal.user_id is not None
    draft = Report(
        tenant_id=study.tenant_id,
        study_id=study.id,
        version=latest.version + 1,
        status="DRAFT",
        language=latest.language,
        findings=latest.findings,
        impression=latest.impression,
        template_id=latest.template_id,
        structured=copy.deepcopy(latest.structured),
        author_id=principal.user_id,
        revision=1,
        kind=kind.value,
        reason=reason,
        previous_id=latest.id,
    )
    session.add(draft)
    session.flush()
    audit.record(
        session,
        actor=principal.actor,
        action="report.amendment_started",
        object_type="report",
        object_id=draft.id,
        tenant_id=study.tenant_id,
        study_id=study.id,
        detail={"kind": kind.value, "version": draft.version, "previous_id": str(latest.id)},
    )
    return draft


def history(session: Session, *, study: Study, include_drafts: bool) -> list[Report]:
    """Return a study's report versions, oldest first (drafts only for readers)."""
    rows = repository.versions(session, study.id)
    return rows if include_drafts else [r for r in rows if r.status != "DRAFT"]


def get_version(session: Session, *, study: Study, number: int, include_drafts: bool) -> Report:
    """Return one version, or raise ReportNotFound."""
    row = repository.version(session, study.id, number)
    if row is None or (row.status == "DRAFT" and not include_drafts):
        raise ReportNotFound(f"This study's report has no version {number}.")
    return row
