"""API shapes of claims, assignment, reader profiles, notifications and agreement settings."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from services.domain.assignment import Subspecialty
from services.domain.sla import SlaCategory


class ClaimState(BaseModel):
    """An item's claim, assignment and SLA state (the breach marker included)."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    study_id: uuid.UUID
    status: str
    priority: int
    priority_reason: str
    claimed_by_id: uuid.UUID | None
    lock_expires_at: datetime | None
    assigned_to_id: uuid.UUID | None
    due_at: datetime | None
    sla_category: str
    escalated_at: datetime | None
    breached_at: datetime | None


class TakeOverRequest(BaseModel):
    """Why a senior radiologist takes over another reader's lock (kept in the audit trail)."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=3, max_length=300)


class AssignRequest(BaseModel):
    """Assign to a named reader, or (``user_id`` omitted) to the least-loaded fitting one."""

    model_config = ConfigDict(extra="forbid")

    user_id: uuid.UUID | None = None


class ReaderProfileWrite(BaseModel):
    """A reader's subspecialties and push capacity."""

    model_config = ConfigDict(extra="forbid")

    subspecialties: list[Subspecialty] = Field(max_length=len(Subspecialty))
    max_open_items: int = Field(default=20, ge=1, le=500)
    accepts_push: bool = True


class ReaderProfileRead(BaseModel):
    """A stored reader profile."""

    model_config = ConfigDict(from_attributes=True)

    user_id: uuid.UUID
    subspecialties: list[str]
    max_open_items: int
    accepts_push: bool


class NotificationRead(BaseModel):
    """A notification to the caller's reading group or to the caller."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    kind: str
    user_id: uuid.UUID | None
    worklist_item_id: uuid.UUID | None
    study_id: uuid.UUID | None
    message: str
    created_at: datetime


class SlaLimitBody(BaseModel):
    """One report time limit."""

    model_config = ConfigDict(extra="forbid")

    minutes: int = Field(ge=5, le=7 * 24 * 60)
    working_hours: bool = False


class AgreementSettingsBody(BaseModel):
    """How a hospital reads for one clinic."""

    model_config = ConfigDict(extra="forbid")

    assignment_mode: Literal["pull", "push"] = "pull"
    lock_minutes: int = Field(default=30, ge=1, le=480)
    sla_warn_minutes: int = Field(default=15, ge=1, le=120)
    limits: dict[SlaCategory, SlaLimitBody] = Field(default_factory=dict)
