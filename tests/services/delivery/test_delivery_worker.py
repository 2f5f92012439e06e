"""Delivery retries through a real Celery worker and broker, against an MLLP HIS that is down.

The worker is a subprocess (``radbridge worker -Q delivery``) on the filesystem broker in the
test's state folder; the HIS listens only after the first attempts have failed. The delivery
log must show every attempt, and each retry must start when ``next_attempt_at`` said it would.
"""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy import select

from services.contracts.task_names import DELIVER_REPORT, QUEUE_DELIVERY
from services.delivery.policy import backoff_s
from services.kit.celery import celery_app
from services.kit.settings import get_settings
from services.models import Delivery, DeliveryAttempt
from tests.factories.tenant import Consortium
from tests.fixtures.api_client import Api
from tests.fixtures.databases import Database
from tests.services.delivery import peers
from tests.services.delivery.conftest import (
    add_channel,
    deliveries,
    queued_deliveries,
    sign_and_render,
)

pytestmark = pytest.mark.integration

T = TypeVar("T")
FAILING_ATTEMPTS = 2
# The worker holds an ETA message and runs it on time; the margin covers claim and connect on a
# loaded 2-core CI host (the filesystem broker is polled). "Not early" is what tells the stored
# time apart from Celery's own jittered backoff, which would often run a retry before it.
LATE_MARGIN = timedelta(seconds=10)


@pytest.fixture
def worker(use_database: Database, tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A Celery worker on the delivery queue, on the same database, objects and broker."""
    env = {
        **os.environ,
        "RADBRIDGE_DATABASE__URL": use_database.url,
        "RADBRIDGE_STATE_DIR": str(get_settings().state_dir),
        "RADBRIDGE_BROKER__URL": "",
        "RADBRIDGE_DELIVERY__ALLOW_PRIVATE_NETWORK": "true",
        "RADBRIDGE_DELIVERY__MAX_ATTEMPTS": "6",
        "RADBRIDGE_DELIVERY__TIMEOUT_S": "5",
    }
    log = (tmp_path / "worker.log").open("wb")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "services.cli",
            "worker",
            "--queues",
            QUEUE_DELIVERY,
            "--concurrency",
            "1",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
        log.close()


def _wait(what: str, probe: Callable[[], T | None], log: Path, timeout: float = 90) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.1)
    tail = "\n".join(log.read_text(errors="replace").splitlines()[-40:])
    raise AssertionError(f"timed out waiting for {what}; worker log:\n{tail}")


class TestRetriesThroughAWorker:
    def test_his_down_then_back_delivers_with_every_attempt_on_time(
        self,
        api: Api,
        consortium: Consortium,
        use_database: Database,
        worker: subprocess.Popen[bytes],
        tmp_path: Path,
    ) -> None:
        port = peers.free_port()  # nothing listens here yet: the HIS is down
        add_channel(api, consortium, {"kind": "hl7_mllp", "host": "127.0.0.1", "port": port})
        study, _ = sign_and_render(api, consortium, use_database)
        [delivery_id] = queued_deliveries()
        celery_app.send_task(
            DELIVER_REPORT, kwargs={"delivery_id": delivery_id}, queue=QUEUE_DELIVERY
        )
        log = tmp_path / "worker.log"
        due: dict[int, datetime] = {}  # attempts made -> next_attempt_at seen in the log

        def watch() -> Delivery:
            with use_database.factory() as session:
                row = session.get(Delivery, uuid.UUID(delivery_id))
                assert row is not None
                if row.status == "RETRYING" and row.next_attempt_at is not None:
                    due.setdefault(row.attempts, row.next_attempt_at)
                return row

        def failed_twice() -> Delivery | None:
            row = watch()
            return row if len(due) >= FAILING_ATTEMPTS else None

        def delivered() -> Delivery | None:
            row = watch()
            return row if row.status == "DELIVERED" else None

        _wait("the failing attempts", failed_twice, log)
        with peers.mllp_listener("AA", port=port) as his:  # the HIS comes back
            done = _wait("the delivery", delivered, log)
            assert len(his.messages) == 1
        assert worker.poll() is None, "the worker died"

        with use_database.factory() as session:
            attempts = session.scalars(
                select(DeliveryAttempt)
                .where(DeliveryAttempt.delivery_id == uuid.UUID(delivery_id))
                .order_by(DeliveryAttempt.number)
            ).all()
        outcomes = [a.outcome for a in attempts]
        assert outcomes == ["retry"] * FAILING_ATTEMPTS + ["delivered"]
        assert [a.number for a in attempts] == [1, 2, 3]
        assert done.attempts == 3
        assert done.next_attempt_at is None
        assert "connection refused" in attempts[0].error
        for before, after in itertools.pairwise(attempts):
            planned = due[before.number]
            # stored due time = end of the failed attempt + the policy's backoff, exactly
            expected = before.finished_at + timedelta(seconds=backoff_s(before.number))
            assert abs((planned - expected).total_seconds()) < 0.01
            # and the worker tried again then: not early, not later than the margin
            assert planned <= after.started_at <= planned + LATE_MARGIN, (
                before.number,
                planned,
                after.started_at,
            )
        entry: dict[str, Any] = deliveries(api, consortium.clinic_staff, study)[0]
        assert entry["status"] == "DELIVERED"
        assert [a["outcome"] for a in entry["log"]] == outcomes
