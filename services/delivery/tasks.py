"""Delivery tasks: thin shells around ``dispatch`` (ids in, nothing else)."""

from __future__ import annotations

import uuid

from services.contracts.task_names import DELIVER_REPORT, QUEUE_DELIVERY, SWEEP_DELIVERIES
from services.delivery import dispatch
from services.delivery.exceptions import DeliveryRetry
from services.delivery.policy import RETRYING
from services.delivery.settings import get_delivery_settings
from services.kit.celery import retry_at, task
from services.kit.db import session_scope
from services.kit.settings import get_settings


@task(DELIVER_REPORT, queue=QUEUE_DELIVERY, max_retries=50)
def deliver(*, delivery_id: str) -> str:
    """Deliver one report version over one channel; transient failures retry with backoff.

    The attempt is committed before the retry is asked for, so every try is in the log; the
    retry's ETA is the ``next_attempt_at`` just stored (no second backoff with its own jitter),
    and the delivery's own attempt counter (not Celery's) decides when it has failed for good.
    Called as a plain function, a retry raises ``DeliveryRetry``.
    """
    settings = get_delivery_settings()
    with session_scope() as session:
        job = dispatch.claim(session, get_settings(), settings, delivery_id=uuid.UUID(delivery_id))
    if job is None:
        return "nothing to do"
    sent = dispatch.send(job)
    with session_scope() as session:
        recorded = dispatch.record(session, settings, sent=sent)
    if recorded.status == RETRYING:
        raise retry_at(deliver, DeliveryRetry(sent.outcome.error), recorded.retry_at)
    return recorded.status


@task(SWEEP_DELIVERIES, queue=QUEUE_DELIVERY)
def sweep() -> int:
    """Re-queue deliveries whose task was lost."""
    with session_scope() as session:
        return dispatch.sweep(session)
