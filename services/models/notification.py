"""Notifications to a reading group (a hospital's readers) or to one person."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from services.kit.clock import utc_now
from services.kit.db import Base
from services.kit.ids import new_id
from services.models._types import UtcDateTime


class Notification(Base):
    """One message: ``user_id`` None means the whole reading group of ``recipient_org_id``."""

    __tablename__ = "notification"
    __table_args__ = (
        Index("ix_notification_recipient", "tenant_id", "recipient_org_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenant.id"))
    recipient_org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organization.id"))
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"))
    kind: Mapped[str] = mapped_column(String(32))  # sla_due_soon | sla_breached | lock_taken_over
    worklist_item_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("worklist_item.id", ondelete="CASCADE"), index=True
    )
    study_id: Mapped[uuid.UUID | None] = mapped_column()
    message: Mapped[str] = mapped_column(String(300))  # ids and times only, no patient data
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    read_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
