"""Report workflow endpoints: templates, AI decisions, countersigning (双签), history.

Write from a template, decide on each AI finding, countersign, correct or add to a signed
report, and read every version with its signatures.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from services.auth.dependencies import Scope, require_roles
from services.auth.principal import Principal
from services.domain.report_lifecycle import SignaturePolicy, VersionKind
from services.domain.roles import ADMIN_ROLES, CLINICAL_ROLES, READER_ROLES, Role
from services.kit.http import DbSession, Settings
from services.report import ai_decisions, drafting, policy, signoff, versions
from services.report.schemas import ReportRead, VerificationRead
from services.report.service import verify_signed_report
from services.report.workflow_schemas import (
    AmendmentCreate,
    DecisionBody,
    DecisionRead,
    FromTemplate,
    PolicyBody,
    ReviewItem,
    VersionDetail,
    VersionSummary,
)
from services.study import service as study_service

router = APIRouter(prefix="/api/v1/studies/{study_id}/report", tags=["reports"])
review_router = APIRouter(prefix="/api/v1/report-review", tags=["reports"])
policy_router = APIRouter(prefix="/api/v1/report-policy", tags=["reports"])
Reader = Annotated[Principal, Depends(require_roles(*READER_ROLES))]
Senior = Annotated[Principal, Depends(require_roles(Role.SENIOR_RADIOLOGIST))]
Clinical = Annotated[Principal, Depends(require_roles(*CLINICAL_ROLES))]
Admin = Annotated[Principal, Depends(require_roles(*ADMIN_ROLES))]


@router.post("/draft/from-template", response_model=ReportRead)
def start_from_template(
    session: DbSession, scope: Scope, principal: Reader, study_id: uuid.UUID, body: FromTemplate
) -> ReportRead:
    """Start the draft from a template; the study's AI findings are offered for decision."""
    study = study_service.get_visible(session, scope=scope, principal=principal, study_id=study_id)
    report = drafting.start_from_template(
        session, principal=principal, study=study, template_id=body.template_id
    )
    return ReportRead.of(report)


@router.post("/ai-findings/{finding_id}/decision", response_model=ReportRead)
def decide(
    session: DbSession,
    scope: Scope,
    principal: Reader,
    study_id: uuid.UUID,
    finding_id: uuid.UUID,
    body: DecisionBody,
) -> ReportRead:
    """Accept, reject or edit one AI finding offered in the draft (stored for monitoring)."""
    study = study_service.get_visible(session, scope=scope, principal=principal, study_id=study_id)
    report = ai_decisions.decide(
        session,
        principal=principal,
        study=study,
        finding_id=finding_id,
        decision=body.decision,
        edited_value=body.edited_value,
    )
    return ReportRead.of(report)


@router.get("/versions/{number}/ai-decisions", response_model=list[DecisionRead])
def decisions(
    session: DbSession, scope: Scope, principal: Reader, study_id: uuid.UUID, number: int
) -> list[DecisionRead]:
    """Return the reader's decisions on AI findings in one version."""
    study = study_service.get_visible(session, scope=scope, principal=principal, study_id=study_id)
    report = versions.get_version(session, study=study, number=number, include_drafts=True)
    return [DecisionRead.of(row) for row in ai_decisions.of_report(session, report)]


@router.post("/countersign", response_model=ReportRead)
def countersign(
    session: DbSession, settings: Settings, scope: Scope, principal: Senior, study_id: uuid.UUID
) -> ReportRead:
    """Countersign another reader's preliminary report as senior (双签); it becomes final."""
    study = study_service.get_visible(session, scope=scope, principal=principal, study_id=study_id)
    return ReportRead.of(signoff.countersign(session, settings, principal=principal, study=study))


@router.post("/amendments", response_model=ReportRead, status_code=201)
def start_amendment(
    session: DbSession, scope: Scope, principal: Reader, study_id: uuid.UUID, body: AmendmentCreate
) -> ReportRead:
    """Open a correction or addendum draft; the signed versions stay as they are."""
    study = study_service.get_visible(session, scope=scope, principal=principal, study_id=study_id)
    draft = versions.start_amendment(
        session, principal=principal, study=study, kind=VersionKind(body.kind), reason=body.reason
    )
    return ReportRead.of(draft)


@router.get("/versions", response_model=list[VersionSummary])
def history(
    session: DbSession, scope: Scope, principal: Clinical, study_id: uuid.UUID
) -> list[VersionSummary]:
    """Return every version of the report, oldest first (clinics see signed versions only)."""
    study = study_service.get_visible(session, scope=scope, principal=principal, study_id=study_id)
    rows = versions.history(session, study=study, include_drafts=principal.has_any(READER_ROLES))
    return [VersionSummary.of(row) for row in rows]


@router.get("/versions/{number}", response_model=VersionDetail)
def version_detail(
    session: DbSession, scope: Scope, principal: Clinical, study_id: uuid.UUID, number: int
) -> VersionDetail:
    """Return one version's content and signatures."""
    study = study_service.get_visible(session, scope=scope, principal=principal, study_id=study_id)
    row = versions.get_version(
        session, study=study, number=number, include_drafts=principal.has_any(READER_ROLES)
    )
    return VersionDetail.detail(row)


@router.get("/versions/{number}/verification", response_model=VerificationRead)
def version_verification(
    session: DbSession,
    settings: Settings,
    scope: Scope,
    principal: Clinical,
    study_id: uuid.UUID,
    number: int,
) -> VerificationRead:
    """Verify one signed version: content, signatures (both for 双签) and its PDF."""
    study = study_service.get_visible(session, scope=scope, principal=principal, study_id=study_id)
    row = versions.get_version(session, study=study, number=number, include_drafts=False)
    return VerificationRead.from_result(verify_signed_report(session, settings, report=row))


@review_router.get("", response_model=list[ReviewItem])
def awaiting_review(
    session: DbSession,
    scope: Scope,
    _senior: Senior,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[ReviewItem]:
    """Return the reports waiting for a senior's countersignature, oldest first."""
    return [
        ReviewItem(
            study_id=r.study_id,
            report_id=r.id,
            version=r.version,
            author_id=r.author_id,
            signed_at=r.signed_at,
        )
        for r in signoff.awaiting_review(session, scope=scope, limit=limit)
    ]


@policy_router.get("", response_model=PolicyBody)
def get_policy(session: DbSession, principal: Admin) -> PolicyBody:
    """Return the consortium's sign-off rule."""
    assert principal.tenant_id is not None
    rule = policy.policy_of(session, principal.tenant_id)
    return PolicyBody(**vars(rule))


@policy_router.put("", response_model=PolicyBody)
def put_policy(session: DbSession, principal: Admin, body: PolicyBody) -> PolicyBody:
    """Set the consortium's sign-off rule (double signature, emergency exception)."""
    assert principal.tenant_id is not None
    rule = SignaturePolicy(**body.model_dump())
    policy.set_policy(session, principal=principal, policy=rule)
    return body
