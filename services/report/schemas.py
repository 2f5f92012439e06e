"""Report API shapes."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from services.domain.report_lifecycle import fhir_status, hl7_status
from services.models import Report
from services.report.signing.verification import ReportVerification


class ReportDraft(BaseModel):
    """What a radiologist writes: free text, or the values of the draft's template.

    ``revision`` (or an If-Match header) is the revision the client loaded; a save over a
    newer draft is refused with 412. Server-owned fields cannot be sent.
    """

    model_config = ConfigDict(extra="forbid")

    findings: str | None = Field(default=None, max_length=20000)
    impression: str | None = Field(default=None, max_length=5000)
    language: Literal["zh-CN", "en"] = "zh-CN"
    values: dict[str, Any] | None = None
    revision: int | None = Field(default=None, ge=0)


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
    revision: int = 1
    kind: str = "original"
    reason: str | None = None
    previous_id: uuid.UUID | None = None
    template_id: uuid.UUID | None = None
    structured: dict[str, Any] | None = None
    cosigner_id: uuid.UUID | None = None
    cosigned_at: datetime | None = None
    emergency_reason: str | None = None
    hl7_status: str = "P"
    fhir_status: str = "preliminary"

    @classmethod
    def of(cls, report: Report) -> ReportRead:
        """Build from a report version, with its HL7 / FHIR status names."""
        return cls.model_validate(report).model_copy(
            update={
                "pdf_available": bool(report.pdf_key),
                "hl7_status": hl7_status(report.status),
                "fhir_status": fhir_status(report.status),
            }
        )


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
    countersignature: CheckRead | None = None

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
            countersignature=(
                CheckRead(**vars(result.countersignature)) if result.countersignature else None
            ),
        )


class SignRequest(BaseModel):
    """Optional sign-off details; an emergency reason lets one signature finalize (audited)."""

    model_config = ConfigDict(extra="forbid")

    emergency_reason: str | None = Field(default=None, min_length=3, max_length=500)
