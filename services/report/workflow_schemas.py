"""API shapes of the report workflow: templates applied, AI decisions, countersigning, history."""

from __future__ import annotations

import base64
import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from services.domain.report_lifecycle import fhir_status, hl7_status
from services.models import Report, ReportFindingDecision


class FromTemplate(BaseModel):
    """Start the draft from a template."""

    model_config = ConfigDict(extra="forbid")

    template_id: uuid.UUID


class DecisionBody(BaseModel):
    """The reader's decision on one AI finding offered in the draft."""

    model_config = ConfigDict(extra="forbid")

    decision: Literal["accept", "reject", "edit"]
    edited_value: str | None = Field(default=None, max_length=2000)


class DecisionRead(BaseModel):
    """A stored decision (one row of ``report_finding_decisions``)."""

    model_config = ConfigDict(from_attributes=True)

    finding_id: uuid.UUID
    report_id: uuid.UUID
    decision: str
    edited_value: str | None
    reader_id: uuid.UUID
    decided_at: datetime

    @classmethod
    def of(cls, row: ReportFindingDecision) -> DecisionRead:
        """Build from a row."""
        return cls.model_validate(row)


class AmendmentCreate(BaseModel):
    """Open a correction or an addendum of the newest complete version."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["correction", "addendum"]
    reason: str = Field(min_length=3, max_length=1000)


class VersionSummary(BaseModel):
    """One line of a report's history."""

    version: int
    id: uuid.UUID
    status: str
    hl7_status: str
    fhir_status: str
    kind: str
    reason: str | None
    previous_id: uuid.UUID | None
    author_id: uuid.UUID
    signed_at: datetime | None
    cosigner_id: uuid.UUID | None
    cosigned_at: datetime | None
    emergency_reason: str | None
    content_sha256: str | None

    @classmethod
    def of(cls, row: Report) -> VersionSummary:
        """Build from a report version."""
        return cls(
            version=row.version,
            id=row.id,
            status=row.status,
            hl7_status=hl7_status(row.status),
            fhir_status=fhir_status(row.status),
            kind=row.kind,
            reason=row.reason,
            previous_id=row.previous_id,
            author_id=row.author_id,
            signed_at=row.signed_at,
            cosigner_id=row.cosigner_id,
            cosigned_at=row.cosigned_at,
            emergency_reason=row.emergency_reason,
            content_sha256=row.content_sha256,
        )


class VersionDetail(VersionSummary):
    """One version's content and its signatures (detached CMS, base64 DER)."""

    language: str
    findings: str
    impression: str
    template_id: uuid.UUID | None
    structured: dict[str, object] | None
    content_signature: str | None
    cosign_signature: str | None
    pdf_sha256: str | None

    @classmethod
    def detail(cls, row: Report) -> VersionDetail:
        """Build from a report version."""

        def b64(data: bytes | None) -> str | None:
            return base64.b64encode(data).decode("ascii") if data else None

        return cls(
            **VersionSummary.of(row).model_dump(),
            language=row.language,
            findings=row.findings,
            impression=row.impression,
            template_id=row.template_id,
            structured=row.structured,
            content_signature=b64(row.content_signature),
            cosign_signature=b64(row.cosign_signature),
            pdf_sha256=row.pdf_sha256,
        )


class PolicyBody(BaseModel):
    """A consortium's sign-off rule (双签)."""

    model_config = ConfigDict(extra="forbid")

    double_signature: bool
    emergency_single_signature: bool = True


class ReviewItem(BaseModel):
    """A version waiting for a senior's countersignature."""

    study_id: uuid.UUID
    report_id: uuid.UUID
    version: int
    author_id: uuid.UUID
    signed_at: datetime | None
