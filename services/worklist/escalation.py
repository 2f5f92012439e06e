"""Escalation of items nearing or past their due time (run by the beat task).

First every open item whose due points changed since it was scored is re-scored
(``rescore.rescore_due_phase_changes``, by ``priority_rescore_at``): entering the due-soon
window (``DUE_SOON_MINUTES``, the same as the list's ``due=due_soon``) or passing its due
time. Then an item inside its agreement's warning time is marked ``escalated_at``, and its
reading group and the least-busy senior radiologist of the hospital are notified. An item past
due gets the breach marker ``breached_at``, and the reading group and a senior are notified
again. Each step happens once per item; the list shows both as ``due_status`` and ``breached``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from services.audit import service as audit
from services.domain.priority import next_phase_at
from services.domain.sla import SlaState, sla_state
from services.kit.clock import utc_now
from services.models import WorklistItem
from services.worklist import claims_repository, notifications, rescore, sla_repository

ACTOR = "system:sla"
MAX_WARN = timedelta(hours=2)  # candidates: items due within this; each uses its own warn time
DEFAULT_WARN_MINUTES = 15
RESCORE_PER_RUN = 2000  # ~2 ms each; the one-off catch-up after migration 0009 takes a few runs


@dataclass(frozen=True)
class EscalationResult:
    """How many items were newly warned about and newly breached."""

    warned: int
    breached: int
    rescored: int = 0


def _warn_minutes(
    session: Session, item: WorklistItem, cache: dict[tuple[object, object], int]
) -> int:
    key = (item.reader_org_id, item.clinic_org_id)
    if key not in cache:
        agreement = claims_repository.agreement(
            session, reader_org_id=item.reader_org_id, clinic_org_id=item.clinic_org_id
        )
        cache[key] = agreement.sla_warn_minutes if agreement else DEFAULT_WARN_MINUTES
    return cache[key]


def _tell_group_and_senior(session: Session, item: WorklistItem, kind: str, text: str) -> None:
    notifications.notify(session, item=item, kind=kind, message=text)
    senior = sla_repository.least_loaded_senior(
        session, tenant_id=item.tenant_id, reader_org_id=item.reader_org_id
    )
    if senior is not None:
        notifications.notify(session, item=item, kind=kind, message=text, user_id=senior)


def _breach(session: Session, item: WorklistItem, moment: datetime) -> None:
    item.breached_at = moment
    item.escalated_at = item.escalated_at or moment
    text = f"Worklist item {item.id} is past its report due time ({item.sla_category})."
    _tell_group_and_senior(session, item, "sla_breached", text)
    audit.record(
        session,
        actor=ACTOR,
        action="worklist.sla_breached",
        object_type="worklist_item",
        object_id=item.id,
        tenant_id=item.tenant_id,
        study_id=item.study_id,
        detail={"due_at": item.due_at.isoformat() if item.due_at else None},
    )


def _warn(session: Session, item: WorklistItem, moment: datetime) -> None:
    item.escalated_at = moment
    text = f"Worklist item {item.id} is due soon ({item.sla_category})."
    _tell_group_and_senior(session, item, "sla_due_soon", text)


def escalate(
    session: Session, *, now: datetime | None = None, limit: int = 500
) -> EscalationResult:
    """Re-score items whose due phase moved on; mark and notify those nearing or past due."""
    moment = now or utc_now()
    rescored = rescore.rescore_due_phase_changes(session, now=moment, limit=RESCORE_PER_RUN)
    warn_cache: dict[tuple[object, object], int] = {}
    warned = breached = 0
    candidates = sla_repository.open_items_due_by(session, cutoff=moment + MAX_WARN, limit=limit)
    # A due time moved since scoring leaves a mark that no longer fits it: score those now.
    moved = [i for i in candidates if i.priority_rescore_at != next_phase_at(i.due_at, moment)]
    rescored += rescore.rescore_items(session, moved, moment)
    for item in candidates:
        state = sla_state(
            item.due_at, moment, warn_minutes=_warn_minutes(session, item, warn_cache)
        )
        if state is SlaState.OK:
            continue
        if state is SlaState.BREACHED and item.breached_at is None:
            _breach(session, item, moment)
            breached += 1
        elif state is SlaState.DUE_SOON and item.escalated_at is None:
            _warn(session, item, moment)
            warned += 1
    return EscalationResult(warned=warned, breached=breached, rescored=rescored)
