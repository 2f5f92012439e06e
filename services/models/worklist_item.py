"""What a reading hospital has to read, in priority order."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from services.kit.clock import utc_now
from services.kit.db import Base
from services.kit.ids import new_id
from services.models._types import UtcDateTime


class WorklistItem(Base):
    """One study waiting to be read by one reading hospital."""

    __tablename__ = "worklist_item"
    __table_args__ = (
        Index(
            "ix_worklist_reader_queue",
            "tenant_id",
            "reader_org_id",
            "status",
            "priority",
            "created_at",
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenant.id"))
    study_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("study.id", ondelete="CASCADE"), unique=True
    )
    reader_org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organization.id"))
    clinic_org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organization.id"))
    status: Mapped[str] = mapped_column(String(16), default="UNREAD")
    priority: Mapped[int] = mapped_column(Integer, default=0)
    priority_reason: Mapped[str] = mapped_column(String(300), default="")
    ai_flag: Mapped[str] = mapped_column(String(16), default="AI_PENDING")
    claimed_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"))
    claimed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    lock_expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    due_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now, onupdate=utc_now)
