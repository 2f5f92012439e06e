"""A file of an upload batch whose instances have all been handed to the image store."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from services.kit.clock import utc_now
from services.kit.db import Base
from services.models._types import UtcDateTime


class UploadBatchFile(Base):
    """Keyed by the file's name in the batch, so re-sending a file counts it once."""

    __tablename__ = "upload_batch_file"

    batch_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("upload_batch.id", ondelete="CASCADE"), primary_key=True
    )
    file_key: Mapped[str] = mapped_column(String(300), primary_key=True)
    upload_id: Mapped[str] = mapped_column(String(64))
    instance_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
