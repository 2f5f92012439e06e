"""The model registry: model versions (from their manifests) and tenants' subscriptions."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from services.kit.clock import utc_now
from services.kit.db import Base
from services.kit.ids import new_id
from services.models._types import UtcDateTime


class ModelVersion(Base):
    """One registered model version; ``manifest`` is the validated manifest as JSON.

    ``state``: registered (known, not routed) | enabled | shadow (runs, hidden from readers)
    | disabled. Platform-wide: the same certified model serves every subscribed tenant.
    """

    __tablename__ = "model_version"
    __table_args__ = (UniqueConstraint("name", "version"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(64))
    version: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(16), default="registered")
    vendor: Mapped[str] = mapped_column(String(200))
    regulatory_status: Mapped[str] = mapped_column(String(32))
    nmpa_registration: Mapped[str | None] = mapped_column(String(64))
    manifest: Mapped[dict[str, Any]] = mapped_column(JSON)
    manifest_sha256: Mapped[str] = mapped_column(String(64))
    repository: Mapped[str] = mapped_column(String(500), default="")
    # The check inference run before enabling: when it passed, and how long it took.
    checked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    check_ms: Mapped[int | None] = mapped_column(Integer)
    check_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now, onupdate=utc_now)


class ModelSubscription(Base):
    """A tenant runs every enabled (or shadow) version of a model name on its studies."""

    __tablename__ = "model_subscription"
    __table_args__ = (UniqueConstraint("tenant_id", "model_name"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"))
    model_name: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
