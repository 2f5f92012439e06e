"""Worklist API shapes."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel


class WorklistItemRead(BaseModel):
    """An item with the explanation of its priority."""

    id: uuid.UUID
    study_id: uuid.UUID
    clinic_org_id: uuid.UUID
    status: str
    priority: int
    priority_reason: str
    ai_flag: str
    due_at: datetime | None
    claimed_by_id: uuid.UUID | None
    lock_expires_at: datetime | None
    created_at: datetime
    patient_name: str
    patient_id: str
    modality: str
    study_description: str
    accession_number: str
