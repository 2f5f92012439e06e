"""Quarantine administration: consortium admins list, release or delete held items (audited)."""

from __future__ import annotations

import uuid
from functools import lru_cache
from typing import Annotated

from fastapi import APIRouter, Body, Depends, Query

from services.auth.dependencies import require_roles
from services.auth.principal import Principal
from services.domain.roles import Role
from services.kit.http import DbSession
from services.kit.settings import get_settings
from services.kit.storage import ObjectStore, build_object_store
from services.models import QuarantineItem
from services.quarantine import service
from services.quarantine.schemas import QuarantineItemRead, ReleaseRequest

router = APIRouter(prefix="/api/v1/quarantine", tags=["quarantine"])
Admin = Annotated[Principal, Depends(require_roles(Role.CONSORTIUM_ADMIN))]


@lru_cache
def object_store() -> ObjectStore:
    """Return the object store holding quarantined files (override in tests)."""
    settings = get_settings()
    return build_object_store(settings.storage, settings.storage_root)


Store = Annotated[ObjectStore, Depends(object_store)]


def _read(item: QuarantineItem) -> QuarantineItemRead:
    return QuarantineItemRead(
        id=item.id,
        organization_id=item.organization_id,
        source=item.source,
        reason_code=item.reason_code,
        reason=item.reason,
        study_instance_uid=item.study_instance_uid,
        has_file=bool(item.object_key),
        status=item.status,
        created_at=item.created_at,
    )


def _tenant(principal: Principal) -> uuid.UUID:
    assert principal.tenant_id is not None  # consortium admins always belong to a tenant
    return principal.tenant_id


@router.get("", response_model=list[QuarantineItemRead])
def list_items(
    session: DbSession, principal: Admin, limit: Annotated[int, Query(ge=1, le=500)] = 100
) -> list[QuarantineItemRead]:
    """List the consortium's quarantined items awaiting a decision, with their reasons."""
    items = service.list_open(session, tenant_id=_tenant(principal), limit=limit)
    return [_read(i) for i in items]


@router.post("/{item_id}/release", response_model=QuarantineItemRead, status_code=202)
def release(
    session: DbSession,
    principal: Admin,
    item_id: uuid.UUID,
    body: Annotated[ReleaseRequest | None, Body()] = None,
) -> QuarantineItemRead:
    """Release an item through a gateway task: a file is re-checked, a held study registered."""
    item = service.request_release(
        session,
        actor=principal.actor,
        tenant_id=_tenant(principal),
        item_id=item_id,
        organization_id=body.organization_id if body else None,
    )
    return _read(item)


@router.delete("/{item_id}", response_model=QuarantineItemRead)
def delete(
    session: DbSession, principal: Admin, store: Store, item_id: uuid.UUID
) -> QuarantineItemRead:
    """Delete a quarantined item's file, or its held study (study level, by a gateway task)."""
    item = service.delete(
        session,
        actor=principal.actor,
        tenant_id=_tenant(principal),
        item_id=item_id,
        store=store,
    )
    return _read(item)
