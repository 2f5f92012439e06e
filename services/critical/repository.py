"""Queries for critical results (tenant-scoped by the callers' arguments)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.auth.principal import TenantScope
from services.models import CriticalAlert, CriticalCommunication, CriticalResult, Report

OPEN = "OPEN"
ACKNOWLEDGED = "ACKNOWLEDGED"


def of_study(session: Session, study_id: uuid.UUID) -> list[CriticalResult]:
    """Return a study's critical results, oldest first."""
    query = select(CriticalResult).where(CriticalResult.study_id == study_id)
    return list(session.scalars(query.order_by(CriticalResult.declared_at)))


def open_for_code(session: Session, study_id: uuid.UUID, code: str) -> CriticalResult | None:
    """Return the open result for ``code`` on a study, if one was declared already."""
    return session.scalar(
        select(CriticalResult).where(
            CriticalResult.study_id == study_id,
            CriticalResult.code == code,
            CriticalResult.status == OPEN,
        )
    )


def scoped(
    session: Session, scope: TenantScope, result_id: uuid.UUID, *, lock: bool = False
) -> CriticalResult | None:
    """Return a result inside the caller's scope (sending clinic visible to the caller)."""
    query = select(CriticalResult).where(
        CriticalResult.id == result_id, CriticalResult.tenant_id == scope.tenant_id
    )
    if scope.organization_ids is not None:
        query = query.where(CriticalResult.clinic_org_id.in_(scope.organization_ids))
    if lock:
        query = query.with_for_update()
    return session.scalar(query)


def listed(
    session: Session, scope: TenantScope, *, status: str | None, limit: int
) -> Sequence[CriticalResult]:
    """Return results visible in ``scope``, newest first."""
    query = select(CriticalResult).where(CriticalResult.tenant_id == scope.tenant_id)
    if scope.organization_ids is not None:
        query = query.where(CriticalResult.clinic_org_id.in_(scope.organization_ids))
    if status is not None:
        query = query.where(CriticalResult.status == status)
    return session.scalars(query.order_by(CriticalResult.declared_at.desc()).limit(limit)).all()


def calls(session: Session, result_id: uuid.UUID) -> list[CriticalCommunication]:
    """Return the phone log of a result, in call order."""
    query = select(CriticalCommunication).where(
        CriticalCommunication.critical_result_id == result_id
    )
    return list(session.scalars(query.order_by(CriticalCommunication.called_at)))


def alerts(session: Session, result_id: uuid.UUID) -> list[CriticalAlert]:
    """Return the alerts sent for a result."""
    query = select(CriticalAlert).where(CriticalAlert.critical_result_id == result_id)
    return list(session.scalars(query.order_by(CriticalAlert.created_at)))


def signed_report(session: Session, study_id: uuid.UUID) -> Report | None:
    """Return the newest signed report version of a study."""
    query = select(Report).where(Report.study_id == study_id, Report.signed_at.is_not(None))
    return session.scalar(query.order_by(Report.version.desc()).limit(1))


def awaiting_ack(
    session: Session, before: datetime, *, tenant_id: uuid.UUID | None, limit: int = 200
) -> list[CriticalResult]:
    """Return open, notified results whose last notice is older than ``before`` (locked)."""
    query = (
        select(CriticalResult)
        .where(
            CriticalResult.status == OPEN,
            CriticalResult.last_notified_at.is_not(None),
            CriticalResult.last_notified_at <= before,
        )
        .order_by(CriticalResult.last_notified_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    if tenant_id is not None:
        query = query.where(CriticalResult.tenant_id == tenant_id)
    return list(session.scalars(query))


def reported_without_call(
    session: Session, *, tenant_id: uuid.UUID | None, limit: int = 200
) -> list[CriticalResult]:
    """Return results on a signed report with no confirmed call and no overdue notice yet."""
    confirmed = select(CriticalCommunication.critical_result_id).where(
        CriticalCommunication.read_back_confirmed.is_(True)
    )
    query = (
        select(CriticalResult)
        .where(
            CriticalResult.source == "REPORT",
            CriticalResult.report_id.is_not(None),
            CriticalResult.call_overdue_at.is_(None),
            CriticalResult.id.not_in(confirmed),
        )
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    if tenant_id is not None:
        query = query.where(CriticalResult.tenant_id == tenant_id)
    return list(session.scalars(query))
