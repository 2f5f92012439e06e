"""Quarantine administration API shapes."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class QuarantineItemRead(BaseModel):
    """A quarantined object and why it was held (no patient data)."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    organization_id: uuid.UUID | None
    source: str
    reason_code: str
    reason: str
    study_instance_uid: str | None
    has_file: bool
    status: str
    created_at: datetime


class ReleaseRequest(BaseModel):
    """Optional release details: the clinic a held study belongs to, when nobody is known."""

    model_config = ConfigDict(extra="forbid")

    organization_id: uuid.UUID | None = Field(
        default=None, description="Clinic of this consortium that sent the held study."
    )
