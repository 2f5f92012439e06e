"""What a radiologist reads: subspecialties and how many open items they take when pushed."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer
from sqlalchemy.orm import Mapped, mapped_column

from services.kit.clock import utc_now
from services.kit.db import Base
from services.kit.ids import new_id
from services.models._types import UtcDateTime


class ReaderProfile(Base):
    """A reader's subspecialties (``services.domain.assignment.Subspecialty``) and capacity."""

    __tablename__ = "reader_profile"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenant.id"), index=True)
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), unique=True
    )
    subspecialties: Mapped[list[Any]] = mapped_column(JSON, default=list)
    max_open_items: Mapped[int] = mapped_column(Integer, default=20)
    accepts_push: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now, onupdate=utc_now)
