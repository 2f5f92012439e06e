"""Worklist beat tasks: release expired claim locks, escalate items nearing or past due."""

from __future__ import annotations

from services.contracts.task_names import QUEUE_DEFAULT
from services.kit.celery import task
from services.kit.db import session_scope
from services.worklist import claims, escalation

RELEASE_EXPIRED_LOCKS = "worklist.release_expired_locks"
ESCALATE_SLA = "worklist.escalate_sla"


@task(RELEASE_EXPIRED_LOCKS, queue=QUEUE_DEFAULT)
def release_expired_locks() -> int:
    """Put items whose claim lock ran out back in the shared queue; return how many."""
    with session_scope() as session:
        return claims.release_expired(session)


@task(ESCALATE_SLA, queue=QUEUE_DEFAULT)
def escalate_sla() -> dict[str, int]:
    """Escalate open items nearing or past their report due time; return the counts."""
    with session_scope() as session:
        result = escalation.escalate(session)
    return {"warned": result.warned, "breached": result.breached}
