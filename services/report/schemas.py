"""Report API shapes."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from services.report.signing.verification import ReportVerification


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


class CheckRead(BaseModel):
    """One verification check."""

    valid: bool
    detail: str
    signer: str = ""


class VerificationRead(BaseModel):
    """The outcome of verifying a signed report."""

    report_id: str
    valid: bool
    content_hash: CheckRead
    content_signature: CheckRead
    pdf_hash: CheckRead
    pdf_signature: CheckRead

    @classmethod
    def from_result(cls, result: ReportVerification) -> VerificationRead:
        """Build the response from a verification result."""
        return cls(
            report_id=result.report_id,
            valid=result.valid,
            **{
                name: CheckRead(**vars(getattr(result, name)))
                for name in ("content_hash", "content_signature", "pdf_hash", "pdf_signature")
            },
        )
