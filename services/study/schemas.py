"""Study API shapes."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


class SeriesRead(BaseModel):
    """A series of a study."""

    model_config = ConfigDict(from_attributes=True)

    series_instance_uid: str
    modality: str
    body_part: str
    description: str
    instance_count: int


class FindingRead(BaseModel):
    """An AI finding, always labelled as advisory."""

    model_config = ConfigDict(from_attributes=True)

    code: str
    label_en: str
    label_zh: str
    score: float
    severity: str
    model_name: str
    model_version: str
    detail: dict[str, Any]
    disclaimer: str = "AI-assisted, for reference / AI辅助，仅供参考"
    # The model's regulatory status in the same wording, e.g. "... (NMPA 国械注准...)".
    notice_en: str = "AI-assisted, for reference"
    notice_zh: str = "AI辅助，仅供参考"


class StudyRead(BaseModel):
    """A study as listed for clinics, readers and admins."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    organization_id: uuid.UUID
    study_instance_uid: str
    patient_id: str
    patient_name: str
    patient_sex: str
    patient_birth_date: str
    accession_number: str
    modality: str
    study_date: str
    description: str
    status: str
    ai_status: str
    ai_status_reason: str = ""  # e.g. why AI_SKIPPED: no subscribed model fits the series
    source: str
    instance_count: int
    received_at: datetime


class StudyDetail(StudyRead):
    """A study with its series, AI findings and report state."""

    series: list[SeriesRead]
    findings: list[FindingRead]
    report_status: str | None
    report_pdf_available: bool
