"""Open SSE worklists get arrivals and priority changes; another tenant's stream gets neither.

A real uvicorn server and real HTTP streams; the changes are made the way the gateway
(registration), the inference worker (AI status settling) and the SLA beat task (escalation)
make them, each in its own committed transaction.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from services.inference_job import service as job_service
from services.kit.clock import utc_now
from services.kit.db import session_scope
from services.models import InferenceJob, WorklistItem
from services.study import service as study_service
from services.worklist import escalation
from tests.factories.tenant import Account, Consortium
from tests.fixtures.databases import Database
from tests.services.worklist.conftest import add_study
from tests.services.worklist.live_stream import Listener, password_token

pytestmark = pytest.mark.integration


def _listen(base_url: str, account: Account) -> Listener:
    listener = Listener(base_url, password_token(base_url, account), idle_s=4.0)
    assert listener.next()[0] == "ready"
    return listener


def _priority(db: Database, item_id: uuid.UUID) -> int:
    with db.factory() as session:
        return session.get_one(WorklistItem, item_id).priority


def _drain(listener: Listener) -> list[tuple[str, dict[str, Any]]]:
    """Wait until the stream idles out; return every event it still delivered."""
    listener.thread.join(timeout=15)
    assert not listener.thread.is_alive()
    left = []
    while not listener.events.empty():
        left.append(listener.events.get_nowait())
    return left


def test_arrival_and_ai_result_reach_the_open_stream_and_not_another_tenant(
    base_url: str, consortium: Consortium, other: Consortium, use_database: Database
) -> None:
    watcher = _listen(base_url, consortium.radiologist)
    outsider = _listen(base_url, other.radiologist)

    arrived = add_study(use_database, consortium.clinic_b, patient_name="李四")
    kind, data = watcher.next()
    assert (kind, data) == (
        "created",
        {
            "item_id": str(arrived.id),
            "kind": "created",
            "status": "UNREAD",
            "priority": arrived.priority,
        },
    )

    # The AI result arrives: the image model found nothing, so the item drops below the
    # items nobody has looked at yet (no-AI points gone).
    with session_scope(use_database.factory) as session:
        job = session.scalars(
            select(InferenceJob).where(InferenceJob.study_id == arrived.study_id)
        ).one()
        job_service.mark_succeeded(job=job, infer_ms=7, input_series_uid=None)
        study_service.settle_ai_status(session, study_id=arrived.study_id)
    settled = _priority(use_database, arrived.id)
    assert settled < arrived.priority

    kind, data = watcher.next()
    assert (kind, data) == (
        "reprioritized",
        {
            "item_id": str(arrived.id),
            "kind": "reprioritized",
            "status": "UNREAD",
            "priority": settled,
        },
    )

    # The outsider's stream works (it gets its own tenant's arrival) but got nothing of ours.
    theirs = add_study(use_database, other.clinic_a)
    assert [e[1]["item_id"] for e in _drain(outsider)] == [str(theirs.id)]
    assert [e[1]["item_id"] for e in _drain(watcher)] == []


def test_sla_escalation_reprioritizes_on_the_open_stream(
    base_url: str, consortium: Consortium, other: Consortium, use_database: Database
) -> None:
    item = add_study(use_database, consortium.clinic_a)
    outsider_item = add_study(use_database, other.clinic_a)
    watcher = _listen(base_url, consortium.radiologist)
    outsider = _listen(base_url, other.radiologist)
    with session_scope(use_database.factory) as session:
        session.get_one(WorklistItem, item.id).due_at = utc_now() - timedelta(minutes=1)

    with session_scope(use_database.factory) as session:
        escalation.escalate(session)
    overdue = _priority(use_database, item.id)
    assert overdue > item.priority

    kind, data = watcher.next()
    assert (kind, data["item_id"], data["priority"]) == ("reprioritized", str(item.id), overdue)
    assert str(outsider_item.id) not in {e[1]["item_id"] for e in _drain(watcher)}
    assert str(item.id) not in {e[1]["item_id"] for e in _drain(outsider)}
