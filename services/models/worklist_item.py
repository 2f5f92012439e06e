"""What a reading hospital has to read, in priority order.

The list endpoint reads this table alone: the study facts a reader filters and searches on
(modality, body part, patient type, name, pinyin, IDs) are copied here when the item is opened,
so the hot query is one index range scan on ``ix_worklist_queue_order``.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from services.kit.clock import utc_now
from services.kit.db import Base
from services.kit.ids import new_id
from services.models._types import UtcDateTime


class WorklistItem(Base):
    """One study waiting to be read by one reading hospital."""

    __tablename__ = "worklist_item"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenant.id"))
    study_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("study.id", ondelete="CASCADE"), unique=True
    )
    reader_org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organization.id"))
    clinic_org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organization.id"))
    status: Mapped[str] = mapped_column(String(16), default="UNREAD")
    priority: Mapped[int] = mapped_column(Integer, default=0)
    priority_reason: Mapped[str] = mapped_column(String(300), default="")
    # When the score's due points next change (due-soon starts, due time passes); the beat job
    # re-scores open items once this has passed (services/worklist/rescore.py).
    priority_rescore_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    ai_flag: Mapped[str] = mapped_column(String(16), default="AI_PENDING")
    claimed_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"))
    claimed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    lock_expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    due_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now, onupdate=utc_now)
    # Claims, push assignment and SLA escalation (services/worklist/claims.py, sla.py).
    assigned_to_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"))
    assigned_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    first_claimed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    reported_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    sla_category: Mapped[str] = mapped_column(String(32), default="")
    escalated_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    breached_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # A critical value: a critical AI finding ("ai") or one a reader declared ("report").
    critical: Mapped[bool] = mapped_column(Boolean, default=False)
    critical_source: Mapped[str] = mapped_column(String(16), default="")
    # Study facts copied for filtering, searching and listing without a join.
    modality: Mapped[str] = mapped_column(String(32), default="")
    body_part: Mapped[str] = mapped_column(String(64), default="")
    patient_type: Mapped[str] = mapped_column(String(16), default="outpatient")
    patient_name: Mapped[str] = mapped_column(String(200), default="")
    patient_name_pinyin: Mapped[str] = mapped_column(String(400), default="")
    patient_name_initials: Mapped[str] = mapped_column(String(32), default="")
    patient_id: Mapped[str] = mapped_column(String(64), default="")
    accession_number: Mapped[str] = mapped_column(String(64), default="")
    study_description: Mapped[str] = mapped_column(String(200), default="")


# The default order of one hospital's queue: priority desc, oldest first, id as the tie-breaker.
Index(
    "ix_worklist_queue_order",
    WorklistItem.tenant_id,
    WorklistItem.reader_org_id,
    WorklistItem.status,
    WorklistItem.priority.desc(),
    WorklistItem.created_at,
    WorklistItem.id,
)
Index(
    "ix_worklist_claimed_by",
    WorklistItem.tenant_id,
    WorklistItem.claimed_by_id,
    WorklistItem.status,
)
# Beat tasks: expired locks and items nearing or past their due time; a reader's pushed items.
Index("ix_worklist_lock_expiry", WorklistItem.status, WorklistItem.lock_expires_at)
Index("ix_worklist_due", WorklistItem.status, WorklistItem.due_at)
Index("ix_worklist_rescore", WorklistItem.status, WorklistItem.priority_rescore_at)
Index(
    "ix_worklist_assigned",
    WorklistItem.tenant_id,
    WorklistItem.assigned_to_id,
    WorklistItem.status,
)
