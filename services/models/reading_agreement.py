"""Which hospital reads for which clinic."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from services.kit.clock import utc_now
from services.kit.db import Base
from services.kit.ids import new_id
from services.models._types import UtcDateTime


class ReadingAgreement(Base):
    """The reading hospital's radiologists see and report the clinic's studies."""

    __tablename__ = "reading_agreement"
    __table_args__ = (UniqueConstraint("reader_org_id", "clinic_org_id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenant.id"), index=True)
    reader_org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organization.id"))
    clinic_org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organization.id"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    assignment_mode: Mapped[str] = mapped_column(String(8), default="pull")  # pull | push
    lock_minutes: Mapped[int] = mapped_column(Integer, default=30)
    sla_warn_minutes: Mapped[int] = mapped_column(Integer, default=15)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
