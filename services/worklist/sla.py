"""SLA policies per reading agreement: due times on every item, settings, late signing.

Defaults come from ``services.domain.sla.DEFAULT_LIMITS``; a reading agreement overrides any
category with an ``sla_policy`` row. Escalation of items nearing or past due is in
``services.worklist.escalation``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from services.audit import service as audit
from services.auth.principal import Principal
from services.domain.sla import (
    DEFAULT_LIMITS,
    ExamFacts,
    SlaCategory,
    SlaLimit,
    classify,
    due_at,
)
from services.kit.clock import utc_now
from services.kit.errors import NotFound
from services.models import ReadingAgreement, SlaPolicy, Study, WorklistItem
from services.worklist import claims_repository, sla_repository


@dataclass(frozen=True)
class AgreementSettings:
    """How a hospital reads for one clinic: assignment, lock time, warning time, time limits."""

    assignment_mode: str
    lock_minutes: int
    sla_warn_minutes: int
    limits: dict[SlaCategory, SlaLimit]


def limits_of(session: Session, agreement: ReadingAgreement | None) -> dict[SlaCategory, SlaLimit]:
    """Return the effective time limits of an agreement (defaults plus its overrides)."""
    limits = dict(DEFAULT_LIMITS)
    if agreement is not None:
        for row in sla_repository.policies_of(session, agreement.id):
            limits[SlaCategory(row.category)] = SlaLimit(row.minutes, row.working_hours)
    return limits


def due_fields(session: Session, *, study: Study, reader_org_id: uuid.UUID) -> dict[str, object]:
    """Return the ``due_at`` and ``sla_category`` of a new item for ``study``."""
    agreement = claims_repository.agreement(
        session, reader_org_id=reader_org_id, clinic_org_id=study.organization_id
    )
    category = classify(
        ExamFacts(
            modality=study.modality,
            urgency=study.urgency,
            patient_type=study.patient_type,
            body_part=study.body_part,
            description=study.description,
        )
    )
    due = due_at(study.received_at, category, limits_of(session, agreement))
    return {"due_at": due, "sla_category": category.value}


def mark_reported(item: WorklistItem, *, now: datetime | None = None) -> None:
    """Stamp the signing time; a report signed after the due time is a breach too."""
    moment = now or utc_now()
    item.reported_at = moment
    if item.due_at is not None and moment > item.due_at and item.breached_at is None:
        item.breached_at = moment


def _agreement_of(
    session: Session, principal: Principal, agreement_id: uuid.UUID
) -> ReadingAgreement:
    agreement = None
    if principal.tenant_id is not None:
        agreement = sla_repository.agreement_in_tenant(
            session, tenant_id=principal.tenant_id, agreement_id=agreement_id
        )
    if agreement is None:
        raise NotFound("No such reading agreement in your consortium.")
    return agreement


def settings_of(
    session: Session, *, principal: Principal, agreement_id: uuid.UUID
) -> AgreementSettings:
    """Return the reading settings of an agreement of the caller's consortium."""
    agreement = _agreement_of(session, principal, agreement_id)
    return AgreementSettings(
        assignment_mode=agreement.assignment_mode,
        lock_minutes=agreement.lock_minutes,
        sla_warn_minutes=agreement.sla_warn_minutes,
        limits=limits_of(session, agreement),
    )


def update_settings(
    session: Session,
    *,
    principal: Principal,
    agreement_id: uuid.UUID,
    settings: AgreementSettings,
) -> AgreementSettings:
    """Replace an agreement's reading settings and time limit overrides (audited)."""
    agreement = _agreement_of(session, principal, agreement_id)
    agreement.assignment_mode = settings.assignment_mode
    agreement.lock_minutes = settings.lock_minutes
    agreement.sla_warn_minutes = settings.sla_warn_minutes
    existing = {
        SlaCategory(p.category): p for p in sla_repository.policies_of(session, agreement.id)
    }
    for category, limit in settings.limits.items():
        row = existing.get(category)
        if row is None:
            row = SlaPolicy(
                tenant_id=agreement.tenant_id, agreement_id=agreement.id, category=category.value
            )
            session.add(row)
        row.minutes = limit.minutes
        row.working_hours = limit.working_hours
    audit.record(
        session,
        actor=principal.actor,
        action="reading_agreement.settings",
        object_type="reading_agreement",
        object_id=agreement.id,
        tenant_id=agreement.tenant_id,
        detail={
            "assignment_mode": settings.assignment_mode,
            "lock_minutes": settings.lock_minutes,
            "sla_warn_minutes": settings.sla_warn_minutes,
            "limits": {c.value: [v.minutes, v.working_hours] for c, v in settings.limits.items()},
        },
    )
    session.flush()
    return settings_of(session, principal=principal, agreement_id=agreement_id)
