"""Admin endpoints of the model registry: models, the consortium's subscriptions, monitoring.

The catalog of model versions is platform-wide (managed with ``radbridge models``);
subscriptions and monitoring belong to the caller's consortium only.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from services.auth.dependencies import Scope, require_roles
from services.auth.principal import Principal
from services.domain.roles import Role
from services.kit.http import DbSession
from services.model_registry import monitoring, service
from services.model_registry.schemas import (
    ModelVersionRead,
    MonitoringRead,
    SubscriptionCreate,
    SubscriptionRead,
)

router = APIRouter(prefix="/api/v1/ai", tags=["ai"])
Admin = Annotated[Principal, Depends(require_roles(Role.CONSORTIUM_ADMIN))]


@router.get("/models", response_model=list[ModelVersionRead])
def list_models(session: DbSession, _admin: Admin, scope: Scope) -> list[ModelVersionRead]:
    """List the registered model versions, and whether the consortium subscribes to each."""
    subscribed = {s.model_name for s in service.subscriptions(session, tenant_id=scope.tenant_id)}
    rows = []
    for row in service.list_versions(session):
        manifest = service.manifest_of(row)
        notice = manifest.regulatory.notice
        rows.append(
            ModelVersionRead(
                name=row.name,
                version=row.version,
                state=row.state,
                display_name_en=manifest.display_name.en,
                display_name_zh=manifest.display_name.zh_cn,
                vendor=row.vendor,
                regulatory_status=row.regulatory_status,
                nmpa_registration=row.nmpa_registration,
                notice_en=notice["en"],
                notice_zh=notice["zh-CN"],
                modalities=manifest.match.modalities,
                finding_codes=[f.code for f in manifest.findings],
                checked_at=row.checked_at,
                check_ms=row.check_ms,
                subscribed=row.name in subscribed,
            )
        )
    return rows


@router.get("/subscriptions", response_model=list[SubscriptionRead])
def list_subscriptions(session: DbSession, _admin: Admin, scope: Scope) -> list[SubscriptionRead]:
    """List the consortium's model subscriptions."""
    rows = service.subscriptions(session, tenant_id=scope.tenant_id)
    return [SubscriptionRead.model_validate(r) for r in rows]


@router.post("/subscriptions", response_model=SubscriptionRead, status_code=201)
def create_subscription(
    session: DbSession, admin: Admin, scope: Scope, body: SubscriptionCreate
) -> SubscriptionRead:
    """Subscribe the consortium to a model: its enabled versions run on new studies."""
    row = service.subscribe(
        session, tenant_id=scope.tenant_id, model_name=body.model_name, actor=admin.actor
    )
    return SubscriptionRead.model_validate(row)


@router.delete("/subscriptions/{subscription_id}", status_code=204)
def delete_subscription(
    session: DbSession, admin: Admin, scope: Scope, subscription_id: uuid.UUID
) -> Response:
    """End a subscription of the consortium (another consortium's is not found)."""
    service.unsubscribe(
        session, tenant_id=scope.tenant_id, subscription_id=subscription_id, actor=admin.actor
    )
    return Response(status_code=204)


@router.get("/models/{name}/{version}/monitoring", response_model=MonitoringRead)
def model_monitoring(
    session: DbSession,
    _admin: Admin,
    scope: Scope,
    name: str,
    version: str,
    days: Annotated[int, Query(ge=1, le=365)] = 7,
    baseline_days: Annotated[int, Query(ge=1, le=365)] = 28,
) -> MonitoringRead:
    """Agreement with readers, latency, failures and input drift of one version."""
    window = monitoring.Window.ending_now(days=days, baseline_days=baseline_days)
    figures = monitoring.monitor(
        session, tenant_id=scope.tenant_id, name=name, version=version, window=window
    )
    return MonitoringRead.of(figures)
