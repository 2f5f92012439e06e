"""A critical value declared on a study, and how far its notification has got."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from services.kit.clock import utc_now
from services.kit.db import Base
from services.kit.ids import new_id
from services.models._types import UtcDateTime


class CriticalResult(Base):
    """OPEN until the sending clinic acknowledges it; then ACKNOWLEDGED.

    ``notified_at`` is set when the clinic was first told (on signing, or at once for an AI
    finding when the consortium enables that); ``escalation_level`` counts the reminders.
    """

    __tablename__ = "critical_result"
    __table_args__ = (
        Index("ix_critical_result_open", "tenant_id", "status", "notified_at"),
        Index("ix_critical_result_study", "study_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenant.id"))
    study_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("study.id", ondelete="CASCADE"))
    clinic_org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organization.id"))
    reader_org_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("organization.id"))
    report_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("report.id"))
    code: Mapped[str] = mapped_column(String(32))
    label_zh: Mapped[str] = mapped_column(String(100))
    label_en: Mapped[str] = mapped_column(String(100))
    source: Mapped[str] = mapped_column(String(8), default="REPORT")  # REPORT | AI
    note: Mapped[str] = mapped_column(String(500), default="")
    declared_by: Mapped[str] = mapped_column(String(200))
    declared_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    status: Mapped[str] = mapped_column(String(16), default="OPEN")  # OPEN | ACKNOWLEDGED
    notified_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_notified_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)
    call_overdue_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    acknowledged_by: Mapped[str | None] = mapped_column(String(200))
