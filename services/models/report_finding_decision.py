"""What readers did with each AI finding offered in a report: what model monitoring reads."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from services.kit.clock import utc_now
from services.kit.db import Base
from services.kit.ids import new_id
from services.models._types import UtcDateTime


class ReportFindingDecision(Base):
    """A reader's decision (accept / reject / edit) on one AI finding in one report version.

    Named in the plural on purpose: model monitoring reads this table by that name.
    """

    __tablename__ = "report_finding_decisions"
    __table_args__ = (UniqueConstraint("report_id", "finding_id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenant.id"), index=True)
    report_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("report.id", ondelete="CASCADE"))
    finding_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("ai_finding.id", ondelete="CASCADE"), index=True
    )
    decision: Mapped[str] = mapped_column(String(8))  # accept | reject | edit
    edited_value: Mapped[str | None] = mapped_column(Text)
    reader_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user_account.id"))
    decided_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
