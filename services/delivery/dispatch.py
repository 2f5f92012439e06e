"""The worker side of a delivery: claim, send, record.

Claim and record are short transactions; no transaction is open while a peer is contacted.
Reruns of the same task do nothing once the delivery is settled.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from services.audit import service as audit
from services.contracts.task_names import DELIVER_REPORT, QUEUE_DELIVERY
from services.delivery import policy, repository, secrets
from services.delivery.channels.base import Job, Outcome
from services.delivery.channels.registry import SENDERS
from services.delivery.guard import UnsafeDestination
from services.delivery.policy import DELIVERED, FAILED, RETRYING, SENDING
from services.delivery.settings import DeliverySettings
from services.domain.study_status import StudyStatus
from services.kit.clock import utc_now
from services.kit.db import enqueue
from services.kit.settings import CoreSettings
from services.kit.storage import ObjectIntegrityError
from services.models import Delivery, DeliveryAttempt, DeliveryChannel, Report, Study
from services.report.interop.export import build_export
from services.report.storage import load_pdf
from services.study import transitions

SYSTEM = "system:delivery"


@dataclass(frozen=True)
class Recorded:
    """A delivery's status after an attempt and, when retrying, when the next try is due.

    ``retry_at`` is stored as ``next_attempt_at`` and given to Celery as the retry's ETA, so
    the log shows the time the worker will actually try again.
    """

    status: str
    retry_at: datetime | None = None


@dataclass(frozen=True)
class Sent:
    """A job and what came of it, with its timing."""

    job: Job
    outcome: Outcome
    started_at: datetime
    finished_at: datetime
    duration_ms: int


def _give_up(session: Session, delivery: Delivery, error: str) -> None:
    now = utc_now()
    delivery.status, delivery.last_error, delivery.lease_until = FAILED, error, None
    session.add(
        DeliveryAttempt(
            tenant_id=delivery.tenant_id,
            delivery_id=delivery.id,
            number=repository.attempt_count(session, delivery.id) + 1,
            outcome="failed",
            error=error,
            started_at=now,
            finished_at=now,
        )
    )


def claim(
    session: Session, core: CoreSettings, settings: DeliverySettings, *, delivery_id: uuid.UUID
) -> Job | None:
    """Lease a delivery that still needs sending and return the job; None if nothing to do."""
    delivery = repository.lock(session, delivery_id)
    now = utc_now()
    if delivery is None or delivery.status in (DELIVERED, FAILED):
        return None
    if delivery.status == SENDING and delivery.lease_until and delivery.lease_until > now:
        return None  # another worker holds it
    channel = session.get(DeliveryChannel, delivery.channel_id)
    report = session.get(Report, delivery.report_id)
    assert channel is not None
    assert report is not None
    if not channel.active or channel.kind not in SENDERS:
        _give_up(session, delivery, "The delivery channel was deleted; nothing was sent.")
        return None
    try:
        pdf = load_pdf(core, report)
    except (ObjectIntegrityError, KeyError) as exc:  # missing or altered: never send it
        _give_up(session, delivery, f"The signed PDF could not be loaded safely: {exc}")
        return None
    try:
        secret = secrets.unseal(core, channel.id, channel.secret)
    except secrets.SecretUnreadable as exc:
        _give_up(session, delivery, str(exc))
        return None
    delivery.status, delivery.lease_until = SENDING, now + timedelta(seconds=settings.lease_s)
    delivery.attempts += 1
    return Job(
        delivery_id=delivery.id,
        attempt=repository.attempt_count(session, delivery.id) + 1,
        kind=channel.kind,
        config=dict(channel.config),
        secret=secret,
        study_id=delivery.study_id,
        report_id=report.id,
        pdf_sha256=report.pdf_sha256 or "",
        export=build_export(session, report, pdf),
        settings=settings,
    )


def send(job: Job) -> Sent:
    """Send one job over its channel; every error becomes an outcome, none escapes."""
    started, clock = utc_now(), time.perf_counter()
    try:
        outcome = SENDERS[job.kind](job)
    except UnsafeDestination as exc:
        outcome = Outcome.failed(exc.message)
    except Exception as exc:  # a channel bug must not lose the attempt from the log
        outcome = Outcome.retry(f"Unexpected error while sending: {type(exc).__name__}: {exc}")
    elapsed = int((time.perf_counter() - clock) * 1000)
    return Sent(job, outcome, started, utc_now(), elapsed)


def _delivered(session: Session, delivery: Delivery) -> None:
    delivery.delivered_at = utc_now()
    study = session.get(Study, delivery.study_id)
    if study is not None and study.status in (StudyStatus.REPORTED, StudyStatus.AMENDED):
        transitions.move(session, study, StudyStatus.DELIVERED, actor=SYSTEM)


def record(session: Session, settings: DeliverySettings, *, sent: Sent) -> Recorded:
    """Log the attempt and settle the delivery; return its new status (and retry time)."""
    delivery = repository.lock(session, sent.job.delivery_id)
    assert delivery is not None
    outcome = sent.outcome
    status = policy.next_status(
        outcome.result, attempts=delivery.attempts, max_attempts=settings.max_attempts
    )
    session.add(
        DeliveryAttempt(
            tenant_id=delivery.tenant_id,
            delivery_id=delivery.id,
            number=sent.job.attempt,
            outcome=outcome.result,
            error=outcome.error,
            ack_id=outcome.ack_id[:200],
            detail=outcome.detail[:500],
            duration_ms=sent.duration_ms,
            started_at=sent.started_at,
            finished_at=sent.finished_at,
        )
    )
    delivery.status, delivery.lease_until, delivery.last_error = status, None, outcome.error
    delivery.next_attempt_at = None
    if status == DELIVERED:
        _delivered(session, delivery)
    elif status == RETRYING:  # computed once: stored here, and the task's retry ETA
        wait = policy.backoff_s(delivery.attempts)
        delivery.next_attempt_at = sent.finished_at + timedelta(seconds=wait)
        return Recorded(status, delivery.next_attempt_at)
    else:
        audit.record(
            session,
            actor=SYSTEM,
            action="delivery.failed",
            object_type="delivery",
            object_id=delivery.id,
            tenant_id=delivery.tenant_id,
            study_id=delivery.study_id,
            outcome="failure",
            detail={"channel_id": str(delivery.channel_id), "attempts": delivery.attempts},
        )
    return Recorded(status)


def sweep(session: Session, *, stale_after_s: int = 300, limit: int = 200) -> int:
    """Re-queue deliveries whose task was lost (publish failed, worker died); return how many."""
    now = utc_now()
    found = repository.stale(
        session, now=now, queued_before=now - timedelta(seconds=stale_after_s), limit=limit
    )
    for delivery in found:
        delivery.updated_at = now
        enqueue(session, DELIVER_REPORT, queue=QUEUE_DELIVERY, delivery_id=str(delivery.id))
    return len(found)
