"""Delivery endpoints: channel administration per organization, the delivery log, resends."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, status

from services.auth.dependencies import Scope, require_roles
from services.auth.principal import Principal
from services.delivery import service
from services.delivery.schemas import ChannelCreate, ChannelRead, DeliveryRead
from services.delivery.settings import DeliverySettings, get_delivery_settings
from services.domain.roles import CLINICAL_ROLES, READER_ROLES, Role
from services.kit.http import DbSession
from services.kit.http import Settings as CoreSettingsDep
from services.study import service as study_service

channels_router = APIRouter(
    prefix="/api/v1/organizations/{org_id}/delivery-channels", tags=["delivery"]
)
log_router = APIRouter(prefix="/api/v1/studies/{study_id}/report/deliveries", tags=["delivery"])

Admin = Annotated[Principal, Depends(require_roles(Role.CONSORTIUM_ADMIN))]
Clinical = Annotated[Principal, Depends(require_roles(*CLINICAL_ROLES))]
Resender = Annotated[Principal, Depends(require_roles(*READER_ROLES, Role.CONSORTIUM_ADMIN))]
Settings = Annotated[DeliverySettings, Depends(get_delivery_settings)]


@channels_router.post("", response_model=ChannelRead, status_code=status.HTTP_201_CREATED)
def create_channel(
    session: DbSession,
    settings: Settings,
    core: CoreSettingsDep,
    principal: Admin,
    org_id: uuid.UUID,
    body: ChannelCreate,
) -> ChannelRead:
    """Configure a delivery channel for an organization (consortium admins)."""
    channel = service.create_channel(
        session, settings, core, principal=principal, org_id=org_id, body=body
    )
    return service.channel_read(channel)


@channels_router.get("", response_model=list[ChannelRead])
def list_channels(session: DbSession, principal: Admin, org_id: uuid.UUID) -> list[ChannelRead]:
    """List an organization's active delivery channels."""
    channels = service.list_channels(session, principal=principal, org_id=org_id)
    return [service.channel_read(c) for c in channels]


@channels_router.delete("/{channel_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_channel(
    session: DbSession, principal: Admin, org_id: uuid.UUID, channel_id: uuid.UUID
) -> None:
    """Stop delivering over a channel; its log is kept."""
    service.deactivate_channel(session, principal=principal, org_id=org_id, channel_id=channel_id)


@log_router.get("", response_model=list[DeliveryRead])
def delivery_log(
    session: DbSession, scope: Scope, principal: Clinical, study_id: uuid.UUID
) -> list[DeliveryRead]:
    """Return the delivery log of the study's report: versions, channels, every attempt."""
    study = study_service.get_visible(session, scope=scope, principal=principal, study_id=study_id)
    return service.log_of_study(session, study=study)


@log_router.post(
    "/{channel_id}/resend", response_model=DeliveryRead, status_code=status.HTTP_202_ACCEPTED
)
def resend(
    session: DbSession,
    scope: Scope,
    principal: Resender,
    study_id: uuid.UUID,
    channel_id: uuid.UUID,
) -> DeliveryRead:
    """Queue the newest signed version again on one channel (readers, consortium admins)."""
    study = study_service.get_visible(session, scope=scope, principal=principal, study_id=study_id)
    delivery = service.resend(session, principal=principal, study=study, channel_id=channel_id)
    log = service.log_of_study(session, study=study)
    return next(d for d in log if d.id == delivery.id)
