"""Critical-value API shapes."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class DefinitionRead(BaseModel):
    """One entry of the consortium's critical-value list."""

    model_config = ConfigDict(from_attributes=True)

    code: str
    snomed_code: str | None
    label_zh: str
    label_en: str
    active: bool


class DefinitionCreate(BaseModel):
    """A new list entry (consortium administrators)."""

    model_config = ConfigDict(extra="forbid")

    code: str = Field(pattern=r"^[A-Z0-9][A-Z0-9-]{1,31}$")
    label_zh: str = Field(min_length=1, max_length=100)
    label_en: str = Field(min_length=1, max_length=100)
    snomed_code: str | None = Field(default=None, pattern=r"^[0-9]{6,18}$")


class Declaration(BaseModel):
    """A reader declares a critical value on a study."""

    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=32)
    note: str = Field(default="", max_length=500)


class CallCreate(BaseModel):
    """The documented phone call: who was called, when, and whether they read it back."""

    model_config = ConfigDict(extra="forbid")

    callee_name: str = Field(min_length=1, max_length=200)
    callee_role: str = Field(default="", max_length=100)
    callee_phone: str = Field(default="", max_length=40)
    called_at: datetime | None = None
    read_back_confirmed: bool
    note: str = Field(default="", max_length=500)


class CallRead(BaseModel):
    """One logged call."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    caller_name: str
    callee_name: str
    callee_role: str
    callee_phone: str
    called_at: datetime
    read_back_confirmed: bool
    note: str
    logged_at: datetime


class AlertRead(BaseModel):
    """One alert to the clinic over one channel."""

    model_config = ConfigDict(from_attributes=True)

    channel_id: uuid.UUID
    level: int
    status: str
    attempts: int
    last_error: str
    ack_id: str = ""  # the peer's acknowledgement of receipt (HL7 ACK id, HTTP status)
    sent_at: datetime | None


class CriticalResultRead(BaseModel):
    """A critical result with its phone log and alerts."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    study_id: uuid.UUID
    report_id: uuid.UUID | None
    code: str
    label_zh: str
    label_en: str
    source: str
    note: str
    declared_by: str
    declared_at: datetime
    status: str
    notified_at: datetime | None
    escalation_level: int
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    call_documented: bool = False
    calls: list[CallRead] = []
    alerts: list[AlertRead] = []
