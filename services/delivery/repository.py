"""Every SQL statement of deliveries; all reads are scoped by tenant."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from services.delivery.policy import PENDING, RETRYING, SENDING
from services.models import Delivery, DeliveryAttempt, DeliveryChannel, Organization, Report


def organization(
    session: Session, *, tenant_id: uuid.UUID, org_id: uuid.UUID
) -> Organization | None:
    """Return an organization of the tenant."""
    stmt = select(Organization).where(
        Organization.id == org_id, Organization.tenant_id == tenant_id
    )
    return session.scalars(stmt).first()


def active_channels(
    session: Session, *, tenant_id: uuid.UUID, org_id: uuid.UUID
) -> Sequence[DeliveryChannel]:
    """Return an organization's active channels, oldest first."""
    stmt = (
        select(DeliveryChannel)
        .where(
            DeliveryChannel.tenant_id == tenant_id,
            DeliveryChannel.organization_id == org_id,
            DeliveryChannel.active.is_(True),
        )
        .order_by(DeliveryChannel.created_at, DeliveryChannel.id)
    )
    return session.scalars(stmt).all()


def channel(
    session: Session, *, tenant_id: uuid.UUID, channel_id: uuid.UUID
) -> DeliveryChannel | None:
    """Return a channel of the tenant (active or not)."""
    stmt = select(DeliveryChannel).where(
        DeliveryChannel.id == channel_id, DeliveryChannel.tenant_id == tenant_id
    )
    return session.scalars(stmt).first()


def delivery_for(
    session: Session, *, report_id: uuid.UUID, channel_id: uuid.UUID
) -> Delivery | None:
    """Return the delivery of a report version over a channel, locked for update."""
    stmt = select(Delivery).where(
        Delivery.report_id == report_id, Delivery.channel_id == channel_id
    )
    return session.scalars(stmt.with_for_update()).first()


def lock(session: Session, delivery_id: uuid.UUID) -> Delivery | None:
    """Return a delivery locked for update (workers: the id comes from our own queue)."""
    stmt = select(Delivery).where(Delivery.id == delivery_id).with_for_update()
    return session.scalars(stmt).first()


def attempt_count(session: Session, delivery_id: uuid.UUID) -> int:
    """Return how many attempts a delivery has had in its whole life."""
    stmt = (
        select(func.count())
        .select_from(DeliveryAttempt)
        .where(DeliveryAttempt.delivery_id == delivery_id)
    )
    return int(session.scalar(stmt) or 0)


def of_study(
    session: Session, *, tenant_id: uuid.UUID, study_id: uuid.UUID
) -> Sequence[tuple[Delivery, Report, DeliveryChannel]]:
    """Return a study's deliveries with their report version and channel, newest version first."""
    stmt = (
        select(Delivery, Report, DeliveryChannel)
        .join(Report, Report.id == Delivery.report_id)
        .join(DeliveryChannel, DeliveryChannel.id == Delivery.channel_id)
        .where(Delivery.tenant_id == tenant_id, Delivery.study_id == study_id)
        .order_by(Report.version.desc(), Delivery.created_at, Delivery.id)
    )
    return [(d, r, c) for d, r, c in session.execute(stmt).all()]


def attempts_of(session: Session, delivery_ids: Sequence[uuid.UUID]) -> Sequence[DeliveryAttempt]:
    """Return the attempts of some deliveries in order."""
    if not delivery_ids:
        return []
    stmt = (
        select(DeliveryAttempt)
        .where(DeliveryAttempt.delivery_id.in_(delivery_ids))
        .order_by(DeliveryAttempt.delivery_id, DeliveryAttempt.number)
    )
    return session.scalars(stmt).all()


def stale(
    session: Session, *, now: datetime, queued_before: datetime, limit: int
) -> Sequence[Delivery]:
    """Return deliveries whose task was lost: queued long ago, overdue retries, expired leases."""
    stmt = (
        select(Delivery)
        .where(
            or_(
                (Delivery.status == PENDING) & (Delivery.updated_at < queued_before),
                (Delivery.status == RETRYING) & (Delivery.next_attempt_at < queued_before),
                (Delivery.status == SENDING) & (Delivery.lease_until < now),
            )
        )
        .order_by(Delivery.updated_at)
        .limit(limit)
    )
    return session.scalars(stmt).all()
