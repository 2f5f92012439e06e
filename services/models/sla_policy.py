"""Per reading agreement overrides of the default report time limits."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from services.kit.clock import utc_now
from services.kit.db import Base
from services.kit.ids import new_id
from services.models._types import UtcDateTime


class SlaPolicy(Base):
    """One time limit of one category (``services.domain.sla.SlaCategory``) for one agreement."""

    __tablename__ = "sla_policy"
    __table_args__ = (UniqueConstraint("agreement_id", "category"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenant.id"), index=True)
    agreement_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("reading_agreement.id", ondelete="CASCADE")
    )
    category: Mapped[str] = mapped_column(String(32))
    minutes: Mapped[int] = mapped_column(Integer)
    working_hours: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
