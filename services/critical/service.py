"""Critical values: declare one on a study, document the call, acknowledge at the clinic.

A reader declares a critical value from the consortium's list. The sending clinic is told as
soon as the report is signed (or at once if it already is), and again by the escalation sweep
until someone there acknowledges. A critical AI finding notifies the clinic at once only when the
consortium has enabled that (AI is advisory).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from services.audit import service as audit
from services.auth.principal import Principal, TenantScope
from services.critical import alerts, catalogue, repository
from services.critical.exceptions import CallInTheFuture, CriticalResultNotFound, NotYourClinic
from services.domain.critical_policy import CriticalPolicy
from services.domain.roles import CLINIC_ROLES, Role
from services.kit.clock import utc_now
from services.models import (
    CriticalCommunication,
    CriticalResult,
    Report,
    Study,
    Tenant,
)
from services.worklist import repository as worklist_repository
from services.worklist import service as worklist_service

CLOCK_SKEW = timedelta(minutes=2)


def policy_of(session: Session, tenant_id: uuid.UUID) -> CriticalPolicy:
    """Return the consortium's critical-value policy."""
    tenant = session.get(Tenant, tenant_id)
    return CriticalPolicy.from_settings(tenant.settings if tenant else None)


def declare(
    session: Session,
    *,
    study: Study,
    code: str,
    actor: str,
    note: str = "",
    source: str = "REPORT",
) -> CriticalResult:
    """Record a critical value on a study (idempotent per open code) and notify if signed."""
    definition = catalogue.find(session, study.tenant_id, code)
    existing = repository.open_for_code(session, study.id, code)
    if existing is not None:
        return existing
    item = worklist_repository.by_study(session, study.id)
    result = CriticalResult(
        tenant_id=study.tenant_id,
        study_id=study.id,
        clinic_org_id=study.organization_id,
        reader_org_id=item.reader_org_id if item else None,
        code=definition.code,
        label_zh=definition.label_zh,
        label_en=definition.label_en,
        source=source,
        note=note,
        declared_by=actor,
    )
    session.add(result)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="critical.declared",
        object_type="critical_result",
        object_id=result.id,
        tenant_id=study.tenant_id,
        study_id=study.id,
        detail={"code": code, "source": source},
    )
    worklist_service.mark_critical(
        session, study_id=study.id, source="ai" if source == "AI" else "report"
    )
    signed = repository.signed_report(session, study.id)
    if source == "AI":
        if policy_of(session, study.tenant_id).notify_ai_findings:
            alerts.notify_clinic(session, result, level=0)
    elif signed is not None:
        result.report_id = signed.id
        alerts.notify_clinic(session, result, level=0)
    return result


def on_ai_findings(
    session: Session, *, study_id: uuid.UUID, model: str, codes: Sequence[tuple[str, str]]
) -> list[CriticalResult]:
    """Declare the critical AI findings (``(code, severity)``) that are on the list.

    A finding counts when its severity is critical and its code is a list entry's SNOMED CT
    concept or its own code. Whether the clinic is told at once is the consortium's choice
    (``notify_ai_findings``); the worklist flag is set either way.
    """
    study = session.get(Study, study_id)
    critical = {code for code, severity in codes if severity == "critical"}
    if study is None or not critical:
        return []
    declared = []
    for entry in catalogue.definitions(session, study.tenant_id):
        if entry.code in critical or (entry.snomed_code or "") in critical:
            declared.append(
                declare(session, study=study, code=entry.code, actor=f"model:{model}", source="AI")
            )
    return declared


def on_report_signed(session: Session, report: Report) -> int:
    """Attach the signed report to the study's open critical results and tell the clinic."""
    told = 0
    for result in repository.of_study(session, report.study_id):
        if result.status != repository.OPEN or result.source != "REPORT":
            continue
        result.report_id = report.id
        if result.notified_at is None:
            alerts.notify_clinic(session, result, level=0)
            told += 1
    return told


def get_scoped(
    session: Session, *, scope: TenantScope, principal: Principal, result_id: uuid.UUID
) -> CriticalResult:
    """Return a result the caller may see, else audit the refusal and raise 404."""
    result = repository.scoped(session, scope, result_id)
    if result is None:
        raise audit.refused(
            session,
            principal=principal,
            action="critical.read",
            object_type="critical_result",
            object_id=result_id,
            error=CriticalResultNotFound("No such critical result, or you cannot see it."),
        )
    return result


def acknowledge(
    session: Session, *, scope: TenantScope, principal: Principal, result_id: uuid.UUID
) -> CriticalResult:
    """Confirm receipt at the sending clinic (idempotent); only that clinic's staff may."""
    result = get_scoped(session, scope=scope, principal=principal, result_id=result_id)
    clinic_person = principal.has_any(CLINIC_ROLES - {Role.INGEST_AGENT})
    if not clinic_person or principal.organization_id != result.clinic_org_id:
        raise NotYourClinic("Only the clinic that sent the study can acknowledge this result.")
    if result.status == repository.ACKNOWLEDGED:
        return result
    result.status, result.acknowledged_at = repository.ACKNOWLEDGED, utc_now()
    result.acknowledged_by = principal.display_name or principal.subject
    audit.record(
        session,
        actor=principal.actor,
        action="critical.acknowledged",
        object_type="critical_result",
        object_id=result.id,
        tenant_id=result.tenant_id,
        study_id=result.study_id,
        detail={"code": result.code, "escalation_level": result.escalation_level},
    )
    return result


def log_call(  # noqa: PLR0913 - keyword-only facts of one phone call
    session: Session,
    *,
    result: CriticalResult,
    principal: Principal,
    callee_name: str,
    callee_role: str,
    callee_phone: str,
    called_at: datetime | None,
    read_back_confirmed: bool,
    note: str,
) -> CriticalCommunication:
    """Append one phone call to the result's log (rows are never changed afterwards)."""
    now = utc_now()
    moment = called_at or now
    if moment > now + CLOCK_SKEW:
        raise CallInTheFuture("The call time is in the future; give the time the call was made.")
    call = CriticalCommunication(
        tenant_id=result.tenant_id,
        critical_result_id=result.id,
        caller_user_id=principal.user_id,
        caller_name=principal.display_name or principal.subject,
        callee_name=callee_name,
        callee_role=callee_role,
        callee_phone=callee_phone,
        called_at=moment,
        read_back_confirmed=read_back_confirmed,
        note=note,
    )
    session.add(call)
    session.flush()
    audit.record(
        session,
        actor=principal.actor,
        action="critical.call_logged",
        object_type="critical_result",
        object_id=result.id,
        tenant_id=result.tenant_id,
        study_id=result.study_id,
        detail={"read_back_confirmed": read_back_confirmed, "call_id": str(call.id)},
    )
    return call
