"""Report API shapes."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class ReportDraft(BaseModel):
    """The text a radiologist writes; server-owned fields cannot be sent."""

    model_config = ConfigDict(extra="forbid")

    findings: str = Field(max_length=20000)
    impression: str = Field(max_length=5000)
    language: Literal["zh-CN", "en"] = "zh-CN"


class ReportRead(BaseModel):
    """A report version."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    study_id: uuid.UUID
    version: int
    status: str
    language: str
    findings: str
    impression: str
    author_id: uuid.UUID
    signed_at: datetime | None
    content_sha256: str | None
    pdf_available: bool = False
