"""A study touched by an upload batch: held back from registration until the batch is final."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from services.kit.db import Base
from services.models._types import UtcDateTime


class UploadBatchStudy(Base):
    """Written before the first instance reaches Orthanc, so the watcher never sees it unheld."""

    __tablename__ = "upload_batch_study"

    batch_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("upload_batch.id", ondelete="CASCADE"), primary_key=True
    )
    study_instance_uid: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)
    orthanc_study_id: Mapped[str] = mapped_column(String(64), default="")
    released_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
