"""Deliveries of report versions over channels, and the log of every attempt."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from services.kit.clock import utc_now
from services.kit.db import Base
from services.kit.ids import new_id
from services.models._types import UtcDateTime


class Delivery(Base):
    """One report version over one channel: the idempotency key of the delivery task.

    ``status``: PENDING (queued) -> SENDING (leased by a worker) -> DELIVERED, or RETRYING
    (transient error, ``next_attempt_at``) and finally FAILED after the last allowed attempt.
    """

    __tablename__ = "delivery"
    __table_args__ = (UniqueConstraint("report_id", "channel_id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenant.id"), index=True)
    study_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("study.id", ondelete="CASCADE"), index=True
    )
    report_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("report.id", ondelete="CASCADE"))
    channel_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("delivery_channel.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="PENDING")
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # in the current round
    lease_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_error: Mapped[str] = mapped_column(Text, default="")
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now, onupdate=utc_now)


class DeliveryAttempt(Base):
    """One try: when, the outcome, the peer's error text and its acknowledgement id."""

    __tablename__ = "delivery_attempt"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenant.id"))
    delivery_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("delivery.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[int] = mapped_column(Integer)  # 1, 2, ... over the delivery's whole life
    outcome: Mapped[str] = mapped_column(String(16))  # delivered | retry | failed
    error: Mapped[str] = mapped_column(Text, default="")
    ack_id: Mapped[str] = mapped_column(String(200), default="")  # ACK MSH-10, HTTP/DIMSE status
    detail: Mapped[str] = mapped_column(String(500), default="")
    actor: Mapped[str] = mapped_column(String(100), default="system:delivery")
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    finished_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
