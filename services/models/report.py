"""Radiology reports: drafts, and signed versions that are never changed afterwards."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from services.kit.clock import utc_now
from services.kit.db import Base
from services.kit.ids import new_id
from services.models._types import UtcDateTime


class Report(Base):
    """One version of a study's report; a signed version is immutable (addenda add versions)."""

    __tablename__ = "report"
    __table_args__ = (UniqueConstraint("study_id", "version"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenant.id"), index=True)
    study_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("study.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer, default=1)
    # services.domain.report_lifecycle.ReportStatus: DRAFT | PRELIMINARY | FINAL | CORRECTED
    # | APPENDED
    status: Mapped[str] = mapped_column(String(16), default="DRAFT")
    language: Mapped[str] = mapped_column(String(8), default="zh-CN")
    findings: Mapped[str] = mapped_column(Text, default="")
    impression: Mapped[str] = mapped_column(Text, default="")
    author_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user_account.id"))
    signed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    content_sha256: Mapped[str | None] = mapped_column(String(64))
    # Detached CMS over canonical_content(), and the certificate that made it.
    content_signature: Mapped[bytes | None] = mapped_column(LargeBinary)
    signer_identity_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("signing_identity.id"))
    pdf_key: Mapped[str | None] = mapped_column(String(300))
    pdf_sha256: Mapped[str | None] = mapped_column(String(64))
    # Structured reporting: the template written from, the values filled in, AI suggestions.
    template_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("report_template.id"))
    structured: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # Autosave counter: every saved draft bumps it; it is the draft's ETag (lost updates).
    revision: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    # original | correction | addendum; a later version names why and which version it follows.
    kind: Mapped[str] = mapped_column(String(16), default="original", server_default="original")
    reason: Mapped[str | None] = mapped_column(Text)
    previous_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("report.id"))
    # Double signing (双签): the senior's countersignature over the author-signed content.
    cosigner_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"))
    cosigned_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    cosign_signature: Mapped[bytes | None] = mapped_column(LargeBinary)
    cosigner_identity_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("signing_identity.id")
    )
    emergency_reason: Mapped[str | None] = mapped_column(Text)  # single signature on duty
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now, onupdate=utc_now)
