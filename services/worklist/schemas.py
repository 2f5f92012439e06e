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


DueStatus = Literal["none", "ok", "due_soon", "overdue", "met", "breached"]


class WorklistItemRead(BaseModel):
    """An item with the explanation of its priority, its due status and who holds it.

    ``due_status``: ``none`` (no due time), ``ok``, ``due_soon`` (within the due-soon window),
    ``overdue`` (open and past due); for reported items ``met`` or ``breached``. ``breached`` is
    the breach marker: true once the item is past due (``breached_at`` is when the SLA check
    marked it, or when a late report was signed). ``critical`` flags a critical value: a
    critical AI finding (``critical_source`` "ai") or one a reader declared ("report").
    """

    id: uuid.UUID
    study_id: uuid.UUID
    clinic_org_id: uuid.UUID
    status: str
    priority: int
    priority_band: str
    priority_reason: str
    ai_flag: str
    critical: bool
    critical_source: str
    due_at: datetime | None
    due_status: DueStatus
    due_in_minutes: int | None
    breached: bool
    breached_at: datetime | None
    escalated_at: datetime | None
    sla_category: str
    claimed_by_id: uuid.UUID | None
    claimed_by_name: str | None
    claimed_at: datetime | None
    lock_expires_at: datetime | None
    assigned_to_id: uuid.UUID | None
    assigned_to_name: str | None
    assigned_at: datetime | None
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
