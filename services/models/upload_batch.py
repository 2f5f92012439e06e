"""A batch of resumable uploads that together carry one or more studies.

A clinic sends a CT as hundreds of files; readers must not see it half-sent. The batch says how
many files to expect, and registration of its studies waits until the batch is finalized.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from services.kit.clock import utc_now
from services.kit.db import Base
from services.kit.ids import new_id
from services.models._types import UtcDateTime


class UploadBatch(Base):
    """One client-declared batch (key unique per organization); OPEN until every file arrived."""

    __tablename__ = "upload_batch"
    __table_args__ = (UniqueConstraint("organization_id", "key"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenant.id"), index=True)
    organization_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organization.id"))
    key: Mapped[str] = mapped_column(String(64))
    expected_files: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="OPEN")  # OPEN | FINALIZED
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    finalized_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
