"""Delivery use cases: channel administration, queueing after rendering, the log, resends."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.orm import Session

from services.audit import service as audit
from services.auth.principal import Principal
from services.contracts.task_names import DELIVER_REPORT, QUEUE_DELIVERY
from services.delivery import guard, repository, secrets
from services.delivery.exceptions import (
    ChannelNotFound,
    DeliveryInProgress,
    DeliveryNotReady,
    OrganizationNotFound,
)
from services.delivery.policy import DELIVERED, PENDING, SENDING
from services.delivery.schemas import (
    AttemptRead,
    ChannelCreate,
    ChannelRead,
    DeliveryRead,
    FhirChannel,
    WebhookChannel,
)
from services.delivery.settings import DeliverySettings
from services.kit.clock import utc_now
from services.kit.db import enqueue
from services.kit.settings import CoreSettings
from services.models import Delivery, DeliveryAttempt, DeliveryChannel, Report, Study
from services.report import service as report_service

SYSTEM = "system:delivery"


def _check_destination(body: ChannelCreate, settings: DeliverySettings) -> None:
    allow = settings.allow_private_network
    if isinstance(body, FhirChannel):
        guard.check_url(body.base_url, allow_private=allow)
    elif isinstance(body, WebhookChannel):
        guard.check_url(body.url, allow_private=allow)
    elif body.kind in ("dicom", "hl7_mllp"):
        config = body.model_dump()
        guard.resolve(config["host"], config["port"], allow_private=allow)


def _organization(session: Session, principal: Principal, org_id: uuid.UUID) -> uuid.UUID:
    assert principal.tenant_id is not None
    if repository.organization(session, tenant_id=principal.tenant_id, org_id=org_id) is None:
        raise audit.refused(
            session,
            principal=principal,
            action="delivery_channel.access",
            object_type="organization",
            object_id=org_id,
            error=OrganizationNotFound("No such organization in your consortium."),
        )
    return principal.tenant_id


def channel_read(channel: DeliveryChannel) -> ChannelRead:
    """Return the API view of a channel (never its secret)."""
    return ChannelRead(
        id=channel.id,
        organization_id=channel.organization_id,
        kind=channel.kind,
        name=channel.name,
        config=channel.config,
        has_secret=bool(channel.secret),
        active=channel.active,
        created_at=channel.created_at,
    )


def create_channel(
    session: Session,
    settings: DeliverySettings,
    core: CoreSettings,
    *,
    principal: Principal,
    org_id: uuid.UUID,
    body: ChannelCreate,
) -> DeliveryChannel:
    """Add a channel to an organization after checking its destination (SSRF guard)."""
    tenant_id = _organization(session, principal, org_id)
    _check_destination(body, settings)
    config: dict[str, Any] = body.model_dump(exclude={"kind", "name", "secret", "bearer_token"})
    secret = None
    if isinstance(body, WebhookChannel):
        secret = body.secret.get_secret_value()
    elif isinstance(body, FhirChannel) and body.bearer_token is not None:
        secret = body.bearer_token.get_secret_value()
    channel = DeliveryChannel(
        tenant_id=tenant_id,
        organization_id=org_id,
        kind=body.kind,
        name=body.name or body.kind,
        config=config,
    )
    session.add(channel)
    session.flush()
    if secret is not None:  # sealed under a key bound to the channel's id
        channel.secret = secrets.seal(core, channel.id, secret)
    audit.record(
        session,
        actor=principal.actor,
        action="delivery_channel.created",
        object_type="delivery_channel",
        object_id=channel.id,
        tenant_id=tenant_id,
        detail={"organization_id": str(org_id), "kind": channel.kind},
    )
    return channel


def list_channels(
    session: Session, *, principal: Principal, org_id: uuid.UUID
) -> list[DeliveryChannel]:
    """Return an organization's active channels."""
    tenant_id = _organization(session, principal, org_id)
    return list(repository.active_channels(session, tenant_id=tenant_id, org_id=org_id))


def deactivate_channel(
    session: Session, *, principal: Principal, org_id: uuid.UUID, channel_id: uuid.UUID
) -> None:
    """Stop using a channel; its delivery log is kept."""
    tenant_id = _organization(session, principal, org_id)
    channel = repository.channel(session, tenant_id=tenant_id, channel_id=channel_id)
    if channel is None or channel.organization_id != org_id or not channel.active:
        raise ChannelNotFound("No such delivery channel for this organization.")
    channel.active = False
    channel.deactivated_at = utc_now()
    audit.record(
        session,
        actor=principal.actor,
        action="delivery_channel.deleted",
        object_type="delivery_channel",
        object_id=channel.id,
        tenant_id=tenant_id,
    )


def _portal(session: Session, delivery: Delivery) -> None:
    now = utc_now()
    delivery.status, delivery.attempts, delivery.delivered_at = DELIVERED, 1, now
    number = repository.attempt_count(session, delivery.id) + 1
    session.add(
        DeliveryAttempt(
            tenant_id=delivery.tenant_id,
            delivery_id=delivery.id,
            number=number,
            outcome="delivered",
            ack_id="portal",
            detail="available for download in the portal",
            started_at=now,
            finished_at=now,
        )
    )


def _start(session: Session, delivery: Delivery, channel: DeliveryChannel) -> None:
    if channel.kind == "portal":
        _portal(session, delivery)
        return
    delivery.status, delivery.attempts, delivery.lease_until = PENDING, 0, None
    delivery.next_attempt_at, delivery.last_error = None, ""
    enqueue(session, DELIVER_REPORT, queue=QUEUE_DELIVERY, delivery_id=str(delivery.id))


def queue_for_report(session: Session, *, report: Report) -> list[Delivery]:
    """Queue the rendered report version on every active channel of its clinic (idempotent)."""
    study = session.get(Study, report.study_id)
    assert study is not None
    queued = []
    for channel in repository.active_channels(
        session, tenant_id=report.tenant_id, org_id=study.organization_id
    ):
        if repository.delivery_for(session, report_id=report.id, channel_id=channel.id):
            continue
        delivery = Delivery(
            tenant_id=report.tenant_id,
            study_id=study.id,
            report_id=report.id,
            channel_id=channel.id,
        )
        session.add(delivery)
        session.flush()
        _start(session, delivery, channel)
        queued.append(delivery)
    return queued


def resend(
    session: Session, *, principal: Principal, study: Study, channel_id: uuid.UUID
) -> Delivery:
    """Deliver the newest signed version again over one channel (audited)."""
    channel = repository.channel(session, tenant_id=study.tenant_id, channel_id=channel_id)
    if channel is None or channel.organization_id != study.organization_id or not channel.active:
        raise ChannelNotFound("No active delivery channel with this id for the study's clinic.")
    report = report_service.latest_signed(session, study_id=study.id)
    if report is None or not report.pdf_key:
        raise DeliveryNotReady("The report is not signed and rendered yet; nothing to send.")
    delivery = repository.delivery_for(session, report_id=report.id, channel_id=channel.id)
    if delivery is None:
        delivery = Delivery(
            tenant_id=study.tenant_id, study_id=study.id, report_id=report.id, channel_id=channel.id
        )
        session.add(delivery)
        session.flush()
    elif delivery.status == PENDING or (
        delivery.status == SENDING and delivery.lease_until and delivery.lease_until > utc_now()
    ):
        raise DeliveryInProgress("This report is already queued or being sent on this channel.")
    _start(session, delivery, channel)
    audit.record(
        session,
        actor=principal.actor,
        action="delivery.resend",
        object_type="delivery",
        object_id=delivery.id,
        tenant_id=study.tenant_id,
        study_id=study.id,
        detail={"channel_id": str(channel.id), "report_version": report.version},
    )
    return delivery


def log_of_study(session: Session, *, study: Study) -> list[DeliveryRead]:
    """Return the delivery log of a study: every version, channel and attempt."""
    rows = repository.of_study(session, tenant_id=study.tenant_id, study_id=study.id)
    attempts: dict[uuid.UUID, list[AttemptRead]] = {}
    for attempt in repository.attempts_of(session, [d.id for d, _, _ in rows]):
        attempts.setdefault(attempt.delivery_id, []).append(AttemptRead.model_validate(attempt))
    return [
        DeliveryRead(
            id=d.id,
            report_id=r.id,
            report_version=r.version,
            channel_id=c.id,
            channel_kind=c.kind,
            channel_name=c.name,
            status=d.status,
            attempts=d.attempts,
            next_attempt_at=d.next_attempt_at,
            last_error=d.last_error,
            delivered_at=d.delivered_at,
            log=attempts.get(d.id, []),
        )
        for d, r, c in rows
    ]
