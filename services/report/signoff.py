"""Signing a version: the author's signature, then (双签) the senior's countersignature.

Both signatures are detached CMS made through the signer port over canonical content, so each
signed version verifies on its own. The PDF is rendered only once a version is complete.
"""

from __future__ import annotations

import hashlib

from sqlalchemy.orm import Session

from services.audit import service as audit
from services.auth.principal import Principal, TenantScope
from services.contracts.task_names import QUEUE_DEFAULT, RENDER_REPORT_PDF
from services.domain.report_lifecycle import (
    COMPLETE,
    ReportStatus,
    SignOffViolation,
    VersionKind,
    check_countersignature,
    completed_status,
    status_after_author_signature,
)
from services.domain.roles import Role
from services.domain.study_status import StudyStatus
from services.kit.clock import utc_now
from services.kit.db import enqueue
from services.kit.settings import CoreSettings
from services.models import Report, SigningIdentity, Study, User
from services.report import drafting, nodule_history, repository
from services.report.canonical import canonical_content, countersigned_content
from services.report.exceptions import (
    AiDecisionsPending,
    ReportAlreadySigned,
    ReportIncomplete,
    ReportNotFound,
    SignOffRefused,
)
from services.report.policy import policy_of
from services.report.signing import keystore
from services.study import transitions
from services.worklist import service as worklist_service


def _cms(
    session: Session, settings: CoreSettings, user_id: object, content: bytes
) -> tuple[bytes, SigningIdentity]:
    user = session.get(User, user_id)
    assert user is not None
    identity = keystore.identity(session, settings, user)
    return keystore.signer(session, settings, identity).sign_content(content), identity


def _signable(session: Session, principal: Principal, study: Study) -> Report:
    report = repository.latest(session, study.id)
    if report is None:
        raise ReportNotFound("Write the report before signing it.")
    if report.status != ReportStatus.DRAFT:
        raise ReportAlreadySigned("This report is already signed; corrections are addenda.")
    if report.kind == VersionKind.ORIGINAL:
        worklist_service.require_claim(session, principal=principal, study_id=study.id)
    drafting.require_author(report, principal)
    if not report.findings.strip() or not report.impression.strip():
        raise ReportIncomplete("A report needs findings and an impression before it is signed.")
    if pending := drafting.pending_decisions(report):
        raise AiDecisionsPending(
            f"Accept, reject or edit every AI finding before signing ({pending} still open)."
        )
    return report


def _study_moves_on(session: Session, principal: Principal, study: Study, report: Report) -> None:
    if report.kind == VersionKind.ORIGINAL:
        item = worklist_service.require_claim(session, principal=principal, study_id=study.id)
        worklist_service.mark_reported(item=item)
        transitions.move(session, study, StudyStatus.REPORTED, actor=principal.actor)
    else:
        transitions.move(session, study, StudyStatus.AMENDED, actor=principal.actor)


def sign_as_author(
    session: Session,
    settings: CoreSettings,
    *,
    principal: Principal,
    study: Study,
    emergency_reason: str | None = None,
) -> Report:
    """Sign the caller's draft; it is final, or PRELIMINARY until a senior countersigns."""
    report = _signable(session, principal, study)
    policy = policy_of(session, study.tenant_id)
    try:
        status = status_after_author_signature(
            VersionKind(report.kind),
            policy,
            emergency=bool(emergency_reason),
            author_is_senior=principal.has_any({Role.SENIOR_RADIOLOGIST}),
        )
    except SignOffViolation as exc:
        raise SignOffRefused(str(exc)) from exc
    single_on_duty = policy.double_signature and status in COMPLETE and bool(emergency_reason)
    report.emergency_reason = emergency_reason if single_on_duty else None
    report.status = status
    report.signed_at = utc_now()
    content = canonical_content(report, study)
    report.content_sha256 = hashlib.sha256(content).hexdigest()
    report.content_signature, identity = _cms(session, settings, report.author_id, content)
    report.signer_identity_id = identity.id
    _study_moves_on(session, principal, study, report)
    _audit(session, principal, report, "report.signed", {"status": status.value})
    if single_on_duty:
        _audit(
            session,
            principal,
            report,
            "report.emergency_single_signature",
            {"reason": emergency_reason},
        )
    session.flush()
    if status in COMPLETE:
        enqueue(session, RENDER_REPORT_PDF, queue=QUEUE_DEFAULT, report_id=str(report.id))
    nodule_history.queue_if_measured(session, report=report, study=study)  # VDT vs priors
    return report


def countersign(
    session: Session, settings: CoreSettings, *, principal: Principal, study: Study
) -> Report:
    """Countersign another reader's PRELIMINARY version as senior; it becomes complete."""
    report = repository.latest_signed(session, study.id)
    if report is None:
        raise ReportNotFound("This study has no signed report to countersign.")
    try:
        check_countersignature(
            status=report.status, author_id=report.author_id, reviewer_id=principal.user_id
        )
    except SignOffViolation as exc:
        raise SignOffRefused(str(exc)) from exc
    report.cosigner_id = principal.user_id
    report.cosigned_at = utc_now()
    content = countersigned_content(report, study)
    report.cosign_signature, identity = _cms(session, settings, principal.user_id, content)
    report.cosigner_identity_id = identity.id
    report.status = completed_status(VersionKind(report.kind))
    _audit(session, principal, report, "report.countersigned", {"status": report.status})
    session.flush()
    enqueue(session, RENDER_REPORT_PDF, queue=QUEUE_DEFAULT, report_id=str(report.id))
    return report


def awaiting_review(session: Session, *, scope: TenantScope, limit: int) -> list[Report]:
    """Return the visible versions waiting for a senior's countersignature, oldest first."""
    return repository.awaiting_review(session, scope, limit)


def _audit(
    session: Session, principal: Principal, report: Report, action: str, detail: dict[str, object]
) -> None:
    audit.record(
        session,
        actor=principal.actor,
        action=action,
        object_type="report",
        object_id=report.id,
        tenant_id=report.tenant_id,
        study_id=report.study_id,
        detail={"version": report.version, "content_sha256": report.content_sha256, **detail},
    )
