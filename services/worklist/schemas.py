"""Worklist API shapes and the allowed values of its filters."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel

View = Literal["all_unread", "my_unread", "pending_my_review", "my_claimed"]
ItemStatus = Literal["UNREAD", "CLAIMED", "REPORTED"]
Band = Literal["critical", "high", "normal", "low"]
PatientType = Literal["outpatient", "emergency", "inpatient", "health_check"]
AiFlag = Literal["NONE", "AI_PENDING", "AI_DONE", "AI_FAILED", "AI_SKIPPED"]
Due = Literal["overdue", "due_soon"]
# DICOM (0008,0060) defined terms a county hospital reads.
Modality = Literal[
    "CR", "DX", "DR", "CT", "MR", "US", "MG", "XA", "RF", "NM", "PT", "OT", "SR", "ES", "IO", "PX"
]


class WorklistItemRead(BaseModel):
    """An item with the explanation of its priority."""

    id: uuid.UUID
    study_id: uuid.UUID
    clinic_org_id: uuid.UUID
    status: str
    priority: int
    priority_band: str
    priority_reason: str
    ai_flag: str
    due_at: datetime | None
    claimed_by_id: uuid.UUID | None
    lock_expires_at: datetime | None
    created_at: datetime
    patient_name: str
    patient_id: str
    patient_type: str
    modality: str
    body_part: str
    study_description: str
    accession_number: str


class WorklistPage(BaseModel):
    """One page; pass ``next_cursor`` back as ``cursor`` for the next (null: last page)."""

    items: list[WorklistItemRead]
    next_cursor: str | None


class WorklistCounts(BaseModel):
    """Items per status for the caller's hospital and the open ones past their due time."""

    by_status: dict[str, int]
    overdue: int
