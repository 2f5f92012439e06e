"""Critical-value tasks: send one alert; sweep for escalations (Celery beat)."""

from __future__ import annotations

import uuid

from services.contracts.task_names import ESCALATE_CRITICAL, QUEUE_DELIVERY, SEND_CRITICAL_ALERT
from services.critical import alerts, escalation
from services.critical.exceptions import AlertRetry
from services.delivery.settings import get_delivery_settings
from services.kit.celery import task
from services.kit.clock import utc_now
from services.kit.db import session_scope
from services.kit.settings import get_settings


@task(SEND_CRITICAL_ALERT, queue=QUEUE_DELIVERY, retry_on=(AlertRetry,), max_retries=20)
def send_alert(*, alert_id: str) -> str:
    """Send one alert; each attempt is committed before a retry is asked for."""
    settings = get_delivery_settings()
    with session_scope() as session:
        job = alerts.claim(session, get_settings(), uuid.UUID(alert_id))
    if job is None:
        return "nothing to do"
    outcome = alerts.send(job, settings)
    with session_scope() as session:
        state = alerts.record(session, job.alert_id, outcome, max_attempts=settings.max_attempts)
    if state == alerts.RETRYING:
        raise AlertRetry(outcome.error)
    return state


@task(ESCALATE_CRITICAL, queue=QUEUE_DELIVERY)
def escalate() -> dict[str, int]:
    """Remind clinics that did not acknowledge; chase missing phone logs."""
    with session_scope() as session:
        done = escalation.sweep(session, utc_now())
    return {"escalated": done.escalated, "calls_overdue": done.calls_overdue}
