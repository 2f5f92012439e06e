"""Where each feed follower (the Orthanc /changes watcher) has got to."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from services.kit.clock import utc_now
from services.kit.db import Base
from services.models._types import UtcDateTime


class ChangeCursor(Base):
    """The last change sequence number fully handled; advanced in the same transaction."""

    __tablename__ = "change_cursor"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    position: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now, onupdate=utc_now)
