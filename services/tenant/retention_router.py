"""Retention administration for consortium admins (audited); other consortia's orgs are 404."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends

from services.auth.dependencies import require_roles
from services.auth.principal import Principal
from services.domain.roles import Role
from services.kit.http import DbSession
from services.tenant import retention
from services.tenant.retention_schemas import (
    OrganizationRetention,
    OrganizationRetentionRead,
    RetentionDefaults,
    RetentionRead,
)

router = APIRouter(prefix="/api/v1/retention", tags=["retention"])
Admin = Annotated[Principal, Depends(require_roles(Role.CONSORTIUM_ADMIN))]


def _tenant(principal: Principal) -> uuid.UUID:
    assert principal.tenant_id is not None  # consortium admins always belong to a tenant
    return principal.tenant_id


def _read(view: retention.RetentionView) -> RetentionRead:
    return RetentionRead(
        online_days=view.online_days,
        archive_days=view.archive_days,
        organizations=[
            OrganizationRetentionRead(organization_id=org, online_days=days)
            for org, days in sorted(view.organizations.items(), key=lambda kv: str(kv[0]))
        ],
    )


@router.get("", response_model=RetentionRead)
def get_retention(session: DbSession, principal: Admin) -> RetentionRead:
    """Show how long the consortium's studies stay online and archived."""
    return _read(retention.get(session, tenant_id=_tenant(principal)))


@router.put("", response_model=RetentionRead)
def put_retention(session: DbSession, principal: Admin, body: RetentionDefaults) -> RetentionRead:
    """Set the consortium's online and archive retention."""
    view = retention.set_defaults(
        session,
        actor=principal.actor,
        tenant_id=_tenant(principal),
        online_days=body.online_days,
        archive_days=body.archive_days,
    )
    return _read(view)


@router.put("/organizations/{organization_id}", response_model=RetentionRead)
def put_organization_retention(
    session: DbSession, principal: Admin, organization_id: uuid.UUID, body: OrganizationRetention
) -> RetentionRead:
    """Override the online retention of one organization."""
    view = retention.set_for_organization(
        session,
        actor=principal.actor,
        tenant_id=_tenant(principal),
        organization_id=organization_id,
        online_days=body.online_days,
    )
    return _read(view)


@router.delete("/organizations/{organization_id}", response_model=RetentionRead)
def delete_organization_retention(
    session: DbSession, principal: Admin, organization_id: uuid.UUID
) -> RetentionRead:
    """Remove an organization's override (the consortium default applies again)."""
    view = retention.clear_for_organization(
        session,
        actor=principal.actor,
        tenant_id=_tenant(principal),
        organization_id=organization_id,
    )
    return _read(view)
