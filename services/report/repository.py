"""SQL for report versions, templates and AI finding decisions (callers check the tenant)."""

from __future__ import annotations

import uuid

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from services.auth.principal import TenantScope
from services.domain.report_lifecycle import SIGNED
from services.models import Report, ReportFindingDecision, ReportTemplate, Study


def latest(session: Session, study_id: uuid.UUID) -> Report | None:
    """Return the newest version of a study's report, draft or signed."""
    stmt = select(Report).where(Report.study_id == study_id).order_by(Report.version.desc())
    return session.scalars(stmt.limit(1)).first()


def latest_signed(session: Session, study_id: uuid.UUID) -> Report | None:
    """Return the newest signed version of a study's report."""
    stmt = (
        select(Report)
        .where(Report.study_id == study_id, Report.status.in_([s.value for s in SIGNED]))
        .order_by(Report.version.desc())
    )
    return session.scalars(stmt.limit(1)).first()


def versions(session: Session, study_id: uuid.UUID) -> list[Report]:
    """Return every version of a study's report, oldest first."""
    stmt = select(Report).where(Report.study_id == study_id).order_by(Report.version)
    return list(session.scalars(stmt))


def version(session: Session, study_id: uuid.UUID, number: int) -> Report | None:
    """Return one version of a study's report."""
    stmt = select(Report).where(Report.study_id == study_id, Report.version == number)
    return session.scalars(stmt).first()


def awaiting_review(session: Session, scope: TenantScope, limit: int) -> list[Report]:
    """Return visible author-signed versions waiting for a countersignature, oldest first."""
    stmt = (
        select(Report)
        .join(Study, Study.id == Report.study_id)
        .where(Report.tenant_id == scope.tenant_id, Report.status == "PRELIMINARY")
    )
    if scope.organization_ids is not None:
        stmt = stmt.where(Study.organization_id.in_(scope.organization_ids))
    return list(session.scalars(stmt.order_by(Report.signed_at).limit(limit)))


def visible_templates(session: Session, tenant_id: uuid.UUID) -> list[ReportTemplate]:
    """Return the active library templates and the tenant's own, newest version first."""
    stmt = (
        select(ReportTemplate)
        .where(
            ReportTemplate.active.is_(True),
            or_(ReportTemplate.tenant_id.is_(None), ReportTemplate.tenant_id == tenant_id),
        )
        .order_by(ReportTemplate.key, ReportTemplate.language, ReportTemplate.version.desc())
    )
    return list(session.scalars(stmt))


def template(session: Session, template_id: uuid.UUID) -> ReportTemplate | None:
    """Return a template by id (library or any tenant's; the caller checks)."""
    return session.get(ReportTemplate, template_id)


def library_versions(session: Session) -> set[tuple[str, str, int]]:
    """Return ``(key, language, version)`` of every library template stored."""
    stmt = select(ReportTemplate.key, ReportTemplate.language, ReportTemplate.version).where(
        ReportTemplate.tenant_id.is_(None)
    )
    return {(k, lang, v) for k, lang, v in session.execute(stmt)}


def last_template_version(session: Session, tenant_id: uuid.UUID, key: str, language: str) -> int:
    """Return the highest version of a tenant's template (0 if it has none)."""
    stmt = select(func.max(ReportTemplate.version)).where(
        ReportTemplate.tenant_id == tenant_id,
        ReportTemplate.key == key,
        ReportTemplate.language == language,
    )
    return session.scalar(stmt) or 0


def decision(
    session: Session, report_id: uuid.UUID, finding_id: uuid.UUID
) -> ReportFindingDecision | None:
    """Return the reader's decision on one AI finding in one report version."""
    stmt = select(ReportFindingDecision).where(
        ReportFindingDecision.report_id == report_id,
        ReportFindingDecision.finding_id == finding_id,
    )
    return session.scalars(stmt).first()


def decisions(session: Session, report_id: uuid.UUID) -> list[ReportFindingDecision]:
    """Return the decisions recorded on one report version."""
    stmt = select(ReportFindingDecision).where(ReportFindingDecision.report_id == report_id)
    return list(session.scalars(stmt.order_by(ReportFindingDecision.decided_at)))
