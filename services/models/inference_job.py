"""AI runs: one job per study and model version, leased by the worker running it."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from services.kit.clock import utc_now
from services.kit.db import Base
from services.kit.ids import new_id
from services.models._types import UtcDateTime


class InferenceJob(Base):
    """One model version run on one study; the unique key makes re-queuing idempotent."""

    __tablename__ = "inference_job"
    __table_args__ = (
        UniqueConstraint("study_id", "model_name", "model_version"),
        Index("ix_inference_job_status_lease", "status", "lease_until"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenant.id"), index=True)
    study_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("study.id", ondelete="CASCADE"))
    model_name: Mapped[str] = mapped_column(String(64))
    model_version: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="QUEUED")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    error: Mapped[str | None] = mapped_column(Text)
    input_series_uid: Mapped[str | None] = mapped_column(String(64))
    # SOP Instance UID of the DICOM SR this run wrote back into the study (None until then).
    result_sr_uid: Mapped[str | None] = mapped_column(String(64))
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    infer_ms: Mapped[int | None] = mapped_column(Integer)
    # Model registry: a shadow run's findings are stored but never shown to readers; the
    # input's modality and pixel statistics feed the drift monitor.
    shadow: Mapped[bool] = mapped_column(Boolean, default=False)
    input_modality: Mapped[str | None] = mapped_column(String(16))
    input_stats: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now, onupdate=utc_now)
