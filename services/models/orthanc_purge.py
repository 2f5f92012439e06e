"""Studies removed from Orthanc by the retention job, with the archive that replaced them."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from services.kit.clock import utc_now
from services.kit.db import Base
from services.kit.ids import new_id
from services.models._types import UtcDateTime


class OrthancPurge(Base):
    """One study taken offline after its archive was verified (the study row stays)."""

    __tablename__ = "orthanc_purge"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenant.id"), index=True)
    study_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("study.id", ondelete="CASCADE"), unique=True
    )
    orthanc_id: Mapped[str] = mapped_column(String(64))
    manifest_key: Mapped[str] = mapped_column(String(300))
    manifest_sha256: Mapped[str] = mapped_column(String(64))
    instance_count: Mapped[int] = mapped_column(Integer)
    online_days: Mapped[int] = mapped_column(Integer)
    purged_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
