"""SQL of the model registry: the platform's model versions and each tenant's subscriptions."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from services.models import ModelSubscription, ModelVersion


def get_version(session: Session, name: str, version: str) -> ModelVersion | None:
    """Return one model version."""
    stmt = select(ModelVersion).where(ModelVersion.name == name, ModelVersion.version == version)
    return session.scalars(stmt).first()


def all_versions(session: Session) -> list[ModelVersion]:
    """Return every registered version, by name then version number."""
    rows = session.scalars(select(ModelVersion))
    return sorted(rows, key=lambda v: (v.name, int(v.version) if v.version.isdigit() else 0))


def any_version(session: Session) -> bool:
    """Return whether any model version is registered at all."""
    return session.scalars(select(ModelVersion.id).limit(1)).first() is not None


def routable_versions(session: Session, names: Iterable[str]) -> list[ModelVersion]:
    """Return the enabled and shadow versions of the given model names."""
    wanted = sorted(set(names))
    if not wanted:
        return []
    stmt = select(ModelVersion).where(
        ModelVersion.name.in_(wanted), ModelVersion.state.in_(("enabled", "shadow"))
    )
    return sorted(session.scalars(stmt), key=lambda v: (v.name, v.version))


def subscriptions_of(session: Session, tenant_id: uuid.UUID) -> list[ModelSubscription]:
    """Return a tenant's subscriptions, by model name."""
    stmt = (
        select(ModelSubscription)
        .where(ModelSubscription.tenant_id == tenant_id)
        .order_by(ModelSubscription.model_name)
    )
    return list(session.scalars(stmt))


def subscription(
    session: Session,
    tenant_id: uuid.UUID,
    *,
    model_name: str | None = None,
    subscription_id: uuid.UUID | None = None,
) -> ModelSubscription | None:
    """Return a tenant's subscription by model name or id (never another tenant's)."""
    stmt = select(ModelSubscription).where(ModelSubscription.tenant_id == tenant_id)
    if model_name is not None:
        stmt = stmt.where(ModelSubscription.model_name == model_name)
    if subscription_id is not None:
        stmt = stmt.where(ModelSubscription.id == subscription_id)
    return session.scalars(stmt).first()


def delete_subscription(session: Session, row: ModelSubscription) -> None:
    """Remove a subscription."""
    session.execute(delete(ModelSubscription).where(ModelSubscription.id == row.id))
