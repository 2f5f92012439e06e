"""Retention API shapes."""

from __future__ import annotations

import uuid

from pydantic import BaseModel, ConfigDict, Field

MAX_DAYS = 100 * 365


class RetentionDefaults(BaseModel):
    """A consortium's retention; null online_days keeps studies in Orthanc indefinitely."""

    model_config = ConfigDict(extra="forbid")

    online_days: int | None = Field(
        default=None, ge=1, le=MAX_DAYS, description="Days a study stays in Orthanc once received."
    )
    archive_days: int | None = Field(
        default=None,
        ge=1,
        le=MAX_DAYS,
        description="Days the archive copy is kept; null means the platform default.",
    )


class OrganizationRetention(BaseModel):
    """One organization's online retention override."""

    model_config = ConfigDict(extra="forbid")

    online_days: int | None = Field(default=None, ge=1, le=MAX_DAYS)


class OrganizationRetentionRead(OrganizationRetention):
    """An override as listed."""

    organization_id: uuid.UUID


class RetentionRead(RetentionDefaults):
    """The consortium's defaults and its per-organization overrides."""

    organizations: list[OrganizationRetentionRead]
