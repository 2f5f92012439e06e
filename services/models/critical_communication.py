"""The documented phone call that passes a critical value on (who, to whom, when, read back)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from services.kit.clock import utc_now
from services.kit.db import Base
from services.kit.ids import new_id
from services.models._types import UtcDateTime


class CriticalCommunication(Base):
    """One call; rows are only ever added, so the log is a complete record."""

    __tablename__ = "critical_communication"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenant.id"))
    critical_result_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("critical_result.id", ondelete="CASCADE"), index=True
    )
    caller_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"))
    caller_name: Mapped[str] = mapped_column(String(200))
    callee_name: Mapped[str] = mapped_column(String(200))
    callee_role: Mapped[str] = mapped_column(String(100), default="")
    callee_phone: Mapped[str] = mapped_column(String(40), default="")
    called_at: Mapped[datetime] = mapped_column(UtcDateTime)
    read_back_confirmed: Mapped[bool] = mapped_column(Boolean, default=False)
    note: Mapped[str] = mapped_column(String(500), default="")
    logged_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
