"""Where an organization (a clinic) wants its signed reports delivered."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from services.kit.clock import utc_now
from services.kit.db import Base
from services.kit.ids import new_id
from services.models._types import UtcDateTime


class DeliveryChannel(Base):
    """One admin-configured channel: portal, dicom, hl7_mllp, fhir, webhook or email.

    ``config`` holds the validated, kind-specific settings (host, port, AE title, URL,
    recipients); ``secret`` the webhook HMAC key or a FHIR bearer token. A deleted channel is
    only deactivated, so the delivery log keeps naming it.
    """

    __tablename__ = "delivery_channel"
    __table_args__ = (Index("ix_delivery_channel_org", "tenant_id", "organization_id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenant.id"))
    organization_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organization.id"))
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(100), default="")
    config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    secret: Mapped[str | None] = mapped_column(Text)  # sealed: services.delivery.secrets
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    deactivated_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
