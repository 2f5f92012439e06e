"""Which organization uploaded a study through the gateway (STOW-RS, resumable upload).

Orthanc 1.10 keeps no ownership, and an upload's instances reach the change feed later, so the
gateway notes the uploader here when it stores them; C-STORE studies are owned via the calling
AE title instead.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from services.kit.clock import utc_now
from services.kit.db import Base
from services.models._types import UtcDateTime


class StudyOrigin(Base):
    """The uploader of an Orthanc study; a second uploader from another clinic is a conflict."""

    __tablename__ = "study_origin"

    orthanc_study_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenant.id"), index=True)
    organization_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organization.id"))
    source: Mapped[str] = mapped_column(String(32))
    uploaded_by: Mapped[str] = mapped_column(String(120))
    # Declared at upload (services.domain.declared_order); "" lets the DICOM decide.
    urgency: Mapped[str] = mapped_column(String(16), default="", server_default="")
    patient_type: Mapped[str] = mapped_column(String(16), default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
