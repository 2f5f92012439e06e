"""Hospitals and clinics inside a consortium."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from services.kit.clock import utc_now
from services.kit.db import Base
from services.kit.ids import new_id
from services.models._types import UtcDateTime


class Organization(Base):
    """A hospital (reads studies) or a clinic (sends them); ``kind`` says which."""

    __tablename__ = "organization"
    __table_args__ = (UniqueConstraint("tenant_id", "code"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenant.id"), index=True)
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))  # "hospital" | "clinic"
    # Issuer of Patient ID: clinics number patients independently, so identity is per issuer.
    patient_id_issuer: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
