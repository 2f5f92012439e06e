"""Dead-letter API shapes."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict


class DeadLetterRead(BaseModel):
    """A failed AI job: which study and model, why, after how many attempts, when."""

    model_config = ConfigDict(from_attributes=True, protected_namespaces=())

    job_id: uuid.UUID
    study_id: uuid.UUID
    study_instance_uid: str
    model_name: str
    model_version: str
    error: str
    attempts: int
    failed_at: datetime | None


class ReplayRead(BaseModel):
    """The replayed job, queued again."""

    model_config = ConfigDict(protected_namespaces=())

    job_id: uuid.UUID
    study_id: uuid.UUID
    status: str
    model_name: str
    model_version: str
