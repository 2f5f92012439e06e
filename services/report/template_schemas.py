"""API shapes of report templates."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from services.models import ReportTemplate


class TemplateCreate(BaseModel):
    """A consortium template in the MRRT-like JSON shape of the shipped library files."""

    model_config = ConfigDict(extra="forbid")

    key: str = Field(min_length=2, max_length=64)
    language: str
    title: str = Field(min_length=1, max_length=200)
    exam: dict[str, Any] = Field(default_factory=dict)
    sections: list[dict[str, Any]]


class TemplateSummary(BaseModel):
    """One template in a list."""

    id: uuid.UUID
    key: str
    language: str
    version: int
    title: str
    library: bool  # shipped with RadBridge (read-only) rather than the consortium's own
    modalities: list[str]
    created_at: datetime

    @classmethod
    def of(cls, row: ReportTemplate) -> TemplateSummary:
        """Build from a stored template."""
        return cls(
            id=row.id,
            key=row.key,
            language=row.language,
            version=row.version,
            title=row.title,
            library=row.tenant_id is None,
            modalities=list(row.definition.get("exam", {}).get("modalities", [])),
            created_at=row.created_at,
        )


class TemplateRead(TemplateSummary):
    """A template with its full definition."""

    definition: dict[str, Any]

    @classmethod
    def full(cls, row: ReportTemplate) -> TemplateRead:
        """Build from a stored template."""
        return cls(**TemplateSummary.of(row).model_dump(), definition=row.definition)
