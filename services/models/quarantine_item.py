"""Received objects that could not be accepted, kept with the reason (never dropped)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from services.kit.clock import utc_now
from services.kit.db import Base
from services.kit.ids import new_id
from services.models._types import UtcDateTime


class QuarantineItem(Base):
    """A malformed file or an unroutable study, stored aside for an admin to release or delete."""

    __tablename__ = "quarantine_item"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    tenant_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("tenant.id"), index=True)
    organization_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("organization.id"))
    source: Mapped[str] = mapped_column(String(32))  # stow | dicom | upload
    # The DICOM node that sent it by C-STORE: a release admits it again with the node's
    # character-set override, as a fresh C-STORE from that node would be.
    dicom_node_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("dicom_node.id"))
    reason_code: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text)
    object_key: Mapped[str | None] = mapped_column(String(300))
    orthanc_id: Mapped[str | None] = mapped_column(String(64))
    study_instance_uid: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="HELD")  # HELD | RELEASED | DELETED
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
