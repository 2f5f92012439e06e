"""The periodic sweep: remind clinics that have not acknowledged, chase missing phone logs.

Each round of an unacknowledged result re-alerts the clinic and tells the reading group and
its senior radiologists; after ``max_escalations`` rounds only the reading side keeps being told
(the clinic's channels evidently do not reach anyone, so a person must phone).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.audit import service as audit
from services.critical import alerts, repository
from services.critical.service import policy_of
from services.domain.critical_policy import CriticalPolicy
from services.domain.roles import Role
from services.models import CriticalResult, Notification, Report, User, UserRole

SYSTEM = "system:critical-escalation"


@dataclass(frozen=True)
class SweepResult:
    """What one sweep did."""

    escalated: int
    calls_overdue: int


def _seniors(session: Session, org_id: uuid.UUID) -> list[uuid.UUID]:
    query = (
        select(User.id)
        .join(UserRole, UserRole.user_id == User.id)
        .where(
            User.organization_id == org_id,
            User.is_active.is_(True),
            UserRole.role == Role.SENIOR_RADIOLOGIST,
        )
    )
    return list(session.scalars(query))


def _tell_readers(
    session: Session, result: CriticalResult, kind: str, message: str, extra: list[uuid.UUID]
) -> None:
    if result.reader_org_id is None:
        return
    recipients: list[uuid.UUID | None] = [None, *_seniors(session, result.reader_org_id), *extra]
    for user_id in dict.fromkeys(recipients):
        session.add(
            Notification(
                tenant_id=result.tenant_id,
                recipient_org_id=result.reader_org_id,
                user_id=user_id,
                kind=kind,
                study_id=result.study_id,
                message=message[:300],
            )
        )


def _escalate(
    session: Session, result: CriticalResult, policy: CriticalPolicy, now: datetime
) -> None:
    level = result.escalation_level + 1
    if level <= policy.max_escalations:
        alerts.notify_clinic(session, result, level=level, now=now)
    else:  # the clinic's channels reach no one: only the reading side is told from here on
        result.escalation_level, result.last_notified_at = level, now
    _tell_readers(
        session,
        result,
        "critical_unacknowledged",
        f"Critical result {result.code} not acknowledged by the clinic "
        f"(reminder {level}); please phone the clinic.",
        [],
    )
    audit.record(
        session,
        actor=SYSTEM,
        action="critical.escalated",
        object_type="critical_result",
        object_id=result.id,
        tenant_id=result.tenant_id,
        study_id=result.study_id,
        detail={"level": level},
    )


def sweep(session: Session, now: datetime, tenant_id: uuid.UUID | None = None) -> SweepResult:
    """Escalate overdue acknowledgements and missing phone logs; safe to run concurrently.

    ``tenant_id`` limits the sweep to one consortium (beat sweeps them all).
    """
    policies: dict[uuid.UUID, CriticalPolicy] = {}

    def policy(tenant_id: uuid.UUID) -> CriticalPolicy:
        if tenant_id not in policies:
            policies[tenant_id] = policy_of(session, tenant_id)
        return policies[tenant_id]

    escalated = 0
    shortest = timedelta(minutes=1)  # the smallest ack window any policy may set
    for result in repository.awaiting_ack(session, before=now - shortest, tenant_id=tenant_id):
        assert result.last_notified_at is not None
        if policy(result.tenant_id).ack_overdue(result.last_notified_at, now):
            _escalate(session, result, policy(result.tenant_id), now)
            escalated += 1
    overdue = 0
    for result in repository.reported_without_call(session, tenant_id=tenant_id):
        report = session.get(Report, result.report_id)
        if report is None or report.signed_at is None:
            continue
        if not policy(result.tenant_id).call_overdue(report.signed_at, now):
            continue
        result.call_overdue_at = now
        _tell_readers(
            session,
            result,
            "critical_call_missing",
            f"Critical result {result.code}: no phone call with read-back is logged yet. "
            "Phone the clinic and log the call.",
            [report.author_id],
        )
        overdue += 1
    return SweepResult(escalated=escalated, calls_overdue=overdue)
