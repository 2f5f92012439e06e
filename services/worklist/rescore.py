"""Re-scoring open items when their inputs change without an event: weights and the clock.

- ``rescore_tenant_batch``: after a consortium changes its weights (``worklist.rescore_tenant``).
- ``rescore_due_phase_changes``: run by the SLA beat job; an item whose due time came within the
  due-soon window, or passed, since it was scored gets its new due points now.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.orm import Session

from services.models import WorklistItem
from services.worklist import rescore_repository, service

BATCH = 500


def rescore_items(session: Session, items: list[WorklistItem], now: datetime | None = None) -> int:
    """Re-score ``items`` as of ``now`` (their studies read in one query); return how many."""
    studies = rescore_repository.load_studies(session, [item.study_id for item in items])
    for item in items:
        study = studies.get(item.study_id)
        if study is not None:
            service.reprioritize(session, study=study, now=now)
    return len(items)


def rescore_tenant_batch(
    session: Session, *, tenant_id: uuid.UUID, after: uuid.UUID | None, limit: int = BATCH
) -> uuid.UUID | None:
    """Re-score up to ``limit`` open items after id ``after``; return the last id, None at end."""
    items = rescore_repository.open_items_of_tenant(
        session, tenant_id=tenant_id, after=after, limit=limit
    )
    rescore_items(session, items)
    return items[-1].id if len(items) == limit else None


def rescore_due_phase_changes(session: Session, *, now: datetime, limit: int = BATCH) -> int:
    """Re-score open items whose ``priority_rescore_at`` has passed; return how many."""
    items = rescore_repository.due_for_rescore(session, now=now, limit=limit)
    return rescore_items(session, items, now)
