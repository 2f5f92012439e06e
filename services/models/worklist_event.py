"""Worklist changes as a small append-only log that every API process tails for live updates.

Rows are written in the same transaction as the change, so an event exists exactly when the
change committed. Only ids, status and priority: no patient data.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from services.kit.clock import utc_now
from services.kit.db import Base
from services.models._types import UtcDateTime


class WorklistEvent(Base):
    """One change of one worklist item, for the reading hospital's live feed."""

    __tablename__ = "worklist_event"
    __table_args__ = (
        Index("ix_worklist_event_created_at", "created_at"),
        # Replay for a reconnecting listener (Last-Event-ID): one hospital's events after an id.
        Index("ix_worklist_event_reader", "tenant_id", "reader_org_id", "id"),
    )

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    tenant_id: Mapped[uuid.UUID] = mapped_column()
    reader_org_id: Mapped[uuid.UUID] = mapped_column()
    item_id: Mapped[uuid.UUID] = mapped_column()
    kind: Mapped[str] = mapped_column(String(24))
    status: Mapped[str] = mapped_column(String(16))
    priority: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
