"""The consortium's patient index: one row per study, keyed for prior-study matching.

Identity is (issuer, patient ID) within a tenant. The normalized name and birth date are kept
only for the guarded fallback match; a name alone never links two studies.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from services.kit.clock import utc_now
from services.kit.db import Base
from services.kit.ids import new_id
from services.models._types import UtcDateTime


class PatientIndexEntry(Base):
    """The patient keys of one study."""

    __tablename__ = "patient_index"
    __table_args__ = (
        Index("ix_patient_index_identity", "tenant_id", "issuer", "patient_id"),
        Index("ix_patient_index_name_birth", "tenant_id", "name_key", "birth_date"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenant.id"))
    study_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("study.id", ondelete="CASCADE"), unique=True
    )
    issuer: Mapped[str] = mapped_column(String(64))
    patient_id: Mapped[str] = mapped_column(String(64))
    name_key: Mapped[str] = mapped_column(String(200))
    birth_date: Mapped[str] = mapped_column(String(8))
    sex: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
