"""Retention per consortium and organization: how long studies stay online in Orthanc.

The consortium default lives in a ``retention_policy`` row without an organization; a row per
organization overrides it. The archive's own retention stays in the tenant's settings
(``archive_retention_days``, read by the archiver): taking a study offline never shortens it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.audit import service as audit
from services.kit.clock import utc_now
from services.kit.errors import NotFound
from services.models import Organization, RetentionPolicy, Study, Tenant

ARCHIVE_DAYS_KEY = "archive_retention_days"
# A study in one of these states is being worked on: it stays online whatever its age.
BUSY_STATUSES = ("RECEIVED", "CLAIMED")
BUSY_AI_STATUSES = ("AI_PENDING",)


@dataclass(frozen=True)
class RetentionView:
    """A consortium's retention: defaults and per-organization online overrides."""

    online_days: int | None
    archive_days: int | None
    organizations: dict[uuid.UUID, int | None]


def _policy(
    session: Session, tenant_id: uuid.UUID, organization_id: uuid.UUID | None
) -> RetentionPolicy | None:
    stmt = select(RetentionPolicy).where(RetentionPolicy.tenant_id == tenant_id)
    if organization_id is None:
        stmt = stmt.where(RetentionPolicy.organization_id.is_(None))
    else:
        stmt = stmt.where(RetentionPolicy.organization_id == organization_id)
    return session.scalar(stmt.with_for_update())


def get(session: Session, *, tenant_id: uuid.UUID) -> RetentionView:
    """Return the consortium's retention settings."""
    rows = session.scalars(select(RetentionPolicy).where(RetentionPolicy.tenant_id == tenant_id))
    default, overrides = None, {}
    for row in rows:
        if row.organization_id is None:
            default = row.online_days
        else:
            overrides[row.organization_id] = row.online_days
    tenant = session.get(Tenant, tenant_id)
    archive = (tenant.settings or {}).get(ARCHIVE_DAYS_KEY) if tenant else None
    return RetentionView(default, archive if isinstance(archive, int) else None, overrides)


def _put(
    session: Session,
    *,
    actor: str,
    tenant_id: uuid.UUID,
    organization_id: uuid.UUID | None,
    online_days: int | None,
) -> None:
    row = _policy(session, tenant_id, organization_id)
    if row is None:
        row = RetentionPolicy(tenant_id=tenant_id, organization_id=organization_id)
        session.add(row)
    row.online_days, row.updated_by = online_days, actor
    session.flush()


def set_defaults(
    session: Session,
    *,
    actor: str,
    tenant_id: uuid.UUID,
    online_days: int | None,
    archive_days: int | None,
) -> RetentionView:
    """Set the consortium's online and archive retention (None: keep online / platform default)."""
    _put(session, actor=actor, tenant_id=tenant_id, organization_id=None, online_days=online_days)
    tenant = session.get(Tenant, tenant_id, with_for_update=True)
    if tenant is None:
        raise NotFound("No such consortium.")
    settings = dict(tenant.settings or {})
    if archive_days is None:
        settings.pop(ARCHIVE_DAYS_KEY, None)
    else:
        settings[ARCHIVE_DAYS_KEY] = archive_days
    tenant.settings = settings  # a new dict, so the JSON column is seen as changed
    _audit(
        session, actor, tenant_id, None, {"online_days": online_days, "archive_days": archive_days}
    )
    return get(session, tenant_id=tenant_id)


def set_for_organization(
    session: Session,
    *,
    actor: str,
    tenant_id: uuid.UUID,
    organization_id: uuid.UUID,
    online_days: int | None,
) -> RetentionView:
    """Override the online retention for one organization of the consortium (else 404)."""
    _organization(session, tenant_id, organization_id)
    _put(
        session,
        actor=actor,
        tenant_id=tenant_id,
        organization_id=organization_id,
        online_days=online_days,
    )
    _audit(session, actor, tenant_id, organization_id, {"online_days": online_days})
    return get(session, tenant_id=tenant_id)


def clear_for_organization(
    session: Session, *, actor: str, tenant_id: uuid.UUID, organization_id: uuid.UUID
) -> RetentionView:
    """Remove an organization's override, so the consortium default applies again."""
    _organization(session, tenant_id, organization_id)
    row = _policy(session, tenant_id, organization_id)
    if row is not None:
        session.delete(row)
        session.flush()
    _audit(session, actor, tenant_id, organization_id, {"cleared": True})
    return get(session, tenant_id=tenant_id)


def _organization(session: Session, tenant_id: uuid.UUID, organization_id: uuid.UUID) -> None:
    org = session.get(Organization, organization_id)
    if org is None or org.tenant_id != tenant_id:
        raise NotFound("No such organization in your consortium.")


def _audit(
    session: Session,
    actor: str,
    tenant_id: uuid.UUID,
    organization_id: uuid.UUID | None,
    detail: dict[str, object],
) -> None:
    audit.record(
        session,
        actor=actor,
        action="retention.update",
        object_type="organization" if organization_id else "tenant",
        object_id=organization_id or tenant_id,
        tenant_id=tenant_id,
        detail=detail,
    )


@dataclass(frozen=True)
class Due:
    """A study past its online retention."""

    study_id: uuid.UUID
    online_days: int


def due_for_purge(session: Session, *, now: datetime | None = None, limit: int = 100) -> list[Due]:
    """Return online studies older than their organization's (or consortium's) retention."""
    now = now or utc_now()
    policies = list(session.scalars(select(RetentionPolicy)))
    overridden = {(p.tenant_id, p.organization_id) for p in policies if p.organization_id}
    due: list[Due] = []
    for policy in policies:
        if policy.online_days is None or len(due) >= limit:
            continue
        stmt = select(Study.id).where(
            Study.tenant_id == policy.tenant_id,
            Study.orthanc_id.is_not(None),
            Study.received_at < now - timedelta(days=policy.online_days),
            Study.status.not_in(BUSY_STATUSES),
            Study.ai_status.not_in(BUSY_AI_STATUSES),
        )
        if policy.organization_id is not None:
            stmt = stmt.where(Study.organization_id == policy.organization_id)
        else:
            skip = [org for tenant, org in overridden if tenant == policy.tenant_id]
            stmt = stmt.where(Study.organization_id.not_in(skip)) if skip else stmt
        ids = session.scalars(stmt.order_by(Study.received_at).limit(limit - len(due)))
        due.extend(Due(study_id, policy.online_days) for study_id in ids)
    return due
