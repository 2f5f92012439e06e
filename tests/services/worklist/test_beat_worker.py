"""The worklist's periodic tasks: on the beat schedule, and run by a real Celery worker.

The worker is the production entry point (``celery -A inference.worker worker``) in its own
process, on the test database, with the filesystem broker in a private folder; the test sends
the tasks by name, as beat does, and waits for their effect in the database.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from celery import Celery
from celery.schedules import schedule as interval
from sqlalchemy import select

from services.contracts.task_names import QUEUE_DEFAULT
from services.kit.celery import celery_app, create_celery
from services.kit.clock import utc_now
from services.kit.db import session_scope
from services.kit.settings import get_settings
from services.models import AuditEvent, Notification, Study, WorklistItem
from services.worklist import tasks
from tests.factories.tenant import Consortium
from tests.fixtures.api_client import Api
from tests.fixtures.databases import Database
from tests.services.worklist.conftest import add_study

pytestmark = pytest.mark.integration
WORKER_START_S = 60.0
EFFECT_S = 30.0
# The smallest lock and warning times an agreement may set (claims_schemas): 1 minute each.
SHORTEST_WINDOW_S = 60.0


def _seconds(entry: dict[str, object]) -> float:
    every = entry["schedule"]
    if isinstance(every, interval):
        return float(every.seconds)
    assert isinstance(every, int | float), every
    return float(every)


class TestBeatSchedule:
    def test_lock_expiry_and_sla_escalation_run_often_enough(self) -> None:
        entries = {e["task"]: e for e in celery_app.conf.beat_schedule.values()}
        import inference.worker  # noqa: F401 - the worker's imports register the tasks

        for name in (tasks.RELEASE_EXPIRED_LOCKS, tasks.ESCALATE_SLA):
            assert name in entries, f"{name} is not on the beat schedule"
            assert name in celery_app.tasks, f"{name} is scheduled but no worker registers it"
            every = _seconds(entries[name])
            # Often enough that a 1-minute lock or warning window is acted on within it,
            # rare enough not to scan the open items several times a second.
            assert 5 <= every <= SHORTEST_WINDOW_S, (name, every)
            route = celery_app.amqp.router.route({}, name)
            assert route["queue"].name == QUEUE_DEFAULT, (name, route)


@pytest.fixture
def broker_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private state folder (and so filesystem broker) shared by the test and its worker."""
    monkeypatch.setenv("RADBRIDGE_STATE_DIR", str(tmp_path))
    get_settings.cache_clear()
    return tmp_path


@pytest.fixture
def sender(use_database: Database, broker_dir: Path) -> Celery:
    return create_celery(get_settings())


@pytest.fixture
def worker(use_database: Database, broker_dir: Path) -> Iterator[Path]:
    """Run a Celery worker process on the default queue; yield its log file."""
    log = broker_dir / "worker.log"
    env = {
        **os.environ,
        "RADBRIDGE_STATE_DIR": str(broker_dir),
        "RADBRIDGE_DATABASE__URL": use_database.url,
        "RADBRIDGE_BROKER__URL": "",
    }
    argv = [sys.executable, "-m", "celery", "-A", "inference.worker", "worker"]
    argv += ["-Q", QUEUE_DEFAULT, "--pool", "solo", "--loglevel", "INFO"]
    with log.open("wb") as out:
        process = subprocess.Popen(
            argv, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        deadline = time.monotonic() + WORKER_START_S
        while b" ready." not in log.read_bytes():
            assert process.poll() is None, log.read_text(errors="replace")
            assert time.monotonic() < deadline, log.read_text(errors="replace")
            time.sleep(0.2)
        yield log
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def _until(check: Callable[[], bool], log: Path) -> None:
    deadline = time.monotonic() + EFFECT_S
    while not check():
        assert time.monotonic() < deadline, log.read_text(errors="replace")[-4000:]
        time.sleep(0.3)


def test_worker_escalates_an_overdue_item(
    api: Api, consortium: Consortium, use_database: Database, sender: Celery, worker: Path
) -> None:
    item = add_study(use_database, consortium.clinic_a)
    due = utc_now() - timedelta(minutes=3)
    with session_scope(use_database.factory) as session:
        session.get_one(WorklistItem, item.id).due_at = due

    sender.send_task(tasks.ESCALATE_SLA, queue=QUEUE_DEFAULT)

    def breached() -> bool:
        with use_database.factory() as session:
            return session.get_one(WorklistItem, item.id).breached_at is not None

    _until(breached, worker)
    with use_database.factory() as session:
        stored = session.get_one(WorklistItem, item.id)
        notes = session.scalars(
            select(Notification).where(Notification.worklist_item_id == item.id)
        ).all()
        audited = session.scalars(
            select(AuditEvent.action).where(AuditEvent.object_id == str(item.id))
        ).all()
    assert stored.priority > item.priority
    assert "overdue" in stored.priority_reason
    assert {n.kind for n in notes} == {"sla_breached"}
    assert "worklist.sla_breached" in audited
    listed = api.get(consortium.radiologist, "/api/v1/worklist", due="overdue").json()["items"]
    assert [(i["id"], i["breached"]) for i in listed] == [(str(item.id), True)]
    assert "Task worklist.escalate_sla" in worker.read_text(errors="replace")


def test_worker_releases_an_expired_lock(
    api: Api, consortium: Consortium, use_database: Database, sender: Celery, worker: Path
) -> None:
    item = add_study(use_database, consortium.clinic_a)
    claimed = api.post(consortium.radiologist, f"/api/v1/worklist/{item.id}/claim")
    assert claimed.status_code == 200, claimed.text
    with session_scope(use_database.factory) as session:
        session.get_one(WorklistItem, item.id).lock_expires_at = utc_now() - timedelta(seconds=5)

    sender.send_task(tasks.RELEASE_EXPIRED_LOCKS, queue=QUEUE_DEFAULT)

    def released() -> bool:
        with use_database.factory() as session:
            return session.get_one(WorklistItem, item.id).status == "UNREAD"

    _until(released, worker)
    with use_database.factory() as session:
        stored = session.get_one(WorklistItem, item.id)
        study = session.get_one(Study, item.study_id)
        audited = session.scalars(
            select(AuditEvent.action).where(AuditEvent.object_id == str(item.id))
        ).all()
    assert (stored.claimed_by_id, stored.lock_expires_at) == (None, None)
    assert study.status == "UNREAD"
    assert "worklist.lock_expired" in audited
    assert "Task worklist.release_expired_locks" in worker.read_text(errors="replace")
    # The queue takes it back: another reader may claim it now.
    again = api.post(consortium.senior_radiologist, f"/api/v1/worklist/{item.id}/claim")
    assert again.status_code == 200, again.text
