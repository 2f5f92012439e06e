"""Kill -9 tests on real processes: the watcher, Orthanc under 4 uploading clients, and a study
sent twice (F5, F13, F14 of QUALITY.md). Nothing acknowledged may be lost or registered twice.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from gateway.api.app import create_app
from gateway.api.dependencies import object_store, orthanc_client
from gateway.ingest.reconcile import Reconciler
from gateway.ingest.watcher import ChangeWatcher
from services.kit.settings import get_settings
from services.kit.storage import LocalDiskStore
from services.models import InferenceJob, Series, Study, WorklistItem
from services.study.routing import configured_routes
from tests.fixtures.databases import Database
from tests.fixtures.live_server import live_server
from tests.fixtures.orthanc import (
    PASSWORD,
    USERNAME,
    OrthancHandle,
    fresh_ct,
    start_orthanc,
    storescu,
)
from tests.gateway.housekeeping.conftest import World, bearer, open_world
from tests.gateway.housekeeping.stow_load import ingest_through_a_kill, plan, sop_uids, stow

pytestmark = [pytest.mark.integration, pytest.mark.e2e]


def _counts_per_uid(db: Database, uids: list[str]) -> dict[str, tuple[int, int, int]]:
    """Return, per StudyInstanceUID, how many study rows, AI jobs and worklist items exist."""
    out = {}
    with db.factory() as session:
        for uid in uids:
            ids = list(session.scalars(select(Study.id).where(Study.study_instance_uid == uid)))
            jobs = session.scalar(
                select(func.count()).select_from(InferenceJob).where(InferenceJob.study_id.in_(ids))
            )
            items = session.scalar(
                select(func.count()).select_from(WorklistItem).where(WorklistItem.study_id.in_(ids))
            )
            out[uid] = (len(ids), int(jobs or 0), int(items or 0))
    return out


class WatcherProcess:
    """``radbridge watch`` as a real child process on the test database and Orthanc."""

    def __init__(self, db: Database, orthanc: OrthancHandle, state_dir: Path) -> None:
        self.env = {
            **os.environ,
            "RADBRIDGE_STATE_DIR": str(state_dir),
            "RADBRIDGE_DATABASE__URL": db.url,
            "RADBRIDGE_ORTHANC__URL": orthanc.http_url,
            "RADBRIDGE_ORTHANC__USERNAME": USERNAME,
            "RADBRIDGE_ORTHANC__PASSWORD": PASSWORD,
            "RADBRIDGE_GATEWAY__WATCH_INTERVAL_S": "0.2",
        }
        self.log = state_dir / "watch.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "services.cli", "watch"],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def kill9(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


@pytest.fixture
def own_orthanc(tmp_path: Path) -> Iterator[OrthancHandle]:
    """An Orthanc this test may kill."""
    handle = start_orthanc(tmp_path / "orthanc")
    try:
        yield handle
    finally:
        handle.client.close()
        handle.process.stop()


@pytest.fixture
def own_world(use_database: Database, own_orthanc: OrthancHandle) -> Iterator[World]:
    yield from open_world(use_database, own_orthanc)


def test_killing_the_watcher_mid_stream_loses_and_duplicates_nothing(
    own_world: World, tmp_path: Path
) -> None:
    world, n_studies = own_world, 12
    watcher = WatcherProcess(world.db, world.orthanc, tmp_path)
    files = [fresh_ct(tmp_path) for _ in range(n_studies)]
    uids = [str(ds.StudyInstanceUID) for _, ds in files]
    watcher.start()

    def send() -> None:
        for path, _ in files:
            assert storescu(world.orthanc, world.consortium.node_a.ae_title, path).returncode == 0
            time.sleep(0.25)

    sender = threading.Thread(target=send)
    sender.start()
    deadline = time.monotonic() + 60
    while sum(c[0] for c in _counts_per_uid(world.db, uids).values()) < 3:
        assert time.monotonic() < deadline, "the watcher registered nothing within 60 s"
        time.sleep(0.1)
    watcher.kill9()  # mid-stream: some studies registered, more arriving
    registered_at_kill = sum(c[0] for c in _counts_per_uid(world.db, uids).values())
    time.sleep(1.0)
    watcher.start()
    sender.join(timeout=60)
    # A late series for the first study, sent after it was registered, while the watcher runs.
    _, first = files[0]
    late, _ = fresh_ct(tmp_path, StudyInstanceUID=first.StudyInstanceUID, PatientID=first.PatientID)
    assert storescu(world.orthanc, world.consortium.node_a.ae_title, late).returncode == 0
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            counts = _counts_per_uid(world.db, uids)
            if all(c == (1, 1, 1) for c in counts.values()) and _series(world, uids[0]) == 2:
                break
            time.sleep(0.3)
    finally:
        watcher.stop()

    assert registered_at_kill < n_studies, "the kill came too late to be mid-stream"
    assert _counts_per_uid(world.db, uids) == dict.fromkeys(uids, (1, 1, 1))
    assert _series(world, uids[0]) == 2


def _series(world: World, uid: str) -> int:
    with world.db.factory() as session:
        study_id = session.scalar(select(Study.id).where(Study.study_instance_uid == uid))
        return int(
            session.scalar(
                select(func.count()).select_from(Series).where(Series.study_id == study_id)
            )
            or 0
        )


def test_killing_orthanc_mid_ingest_loses_no_acknowledged_instance(
    own_world: World, tmp_path: Path
) -> None:
    world = own_world
    uploads = plan(tmp_path, clients=4, studies_per_client=2, per_study=6)
    total = sum(len(p) for p in uploads.parts)
    stop = threading.Event()
    feed = ChangeWatcher(
        world.orthanc.client,
        configured_routes(get_settings()),
        world.db.factory,
        poll_interval_s=0.2,
    )
    follower = threading.Thread(target=feed.run, args=(stop,))
    follower.start()
    acked_at_kill = ingest_through_a_kill(world, uploads, tmp_path)
    stored = sop_uids(world.orthanc)
    _wait_until_stable(world.orthanc)  # StableAge 1 s: let the follower see it
    time.sleep(1.0)
    stop.set()
    follower.join(timeout=10)
    reconciler = Reconciler(
        world.orthanc.client,
        configured_routes(get_settings()),
        world.db.factory,
        stuck_after=timedelta(minutes=30),
        storage_dir=world.orthanc.config.storage_dir,
        orphan_files_to=tmp_path / "orphan-files",
        orphan_grace_s=0,  # every client has finished: nothing is in flight
    )
    report = reconciler.run(act=True)
    again = reconciler.run(act=True)
    after_cleaning = sop_uids(world.orthanc)

    assert acked_at_kill < total, "the kill came too late to be mid-ingest"
    assert uploads.acked <= stored, f"lost: {sorted(uploads.acked - stored)[:5]}"
    assert len(uploads.acked) == total
    study_uids = sorted({str(ds.StudyInstanceUID) for p in uploads.parts for ds in p})
    assert _counts_per_uid(world.db, study_uids) == dict.fromkeys(study_uids, (1, 1, 1)), (
        report.counts(),
        again.counts(),
    )
    assert sum(len(v) for k, v in again.orphans.items() if k != "receiving") == 0
    assert again.orphan_files.orphans == [] and uploads.acked <= after_cleaning
    for instance_id in _all_instances(world.orthanc):  # every indexed file is still readable
        assert world.orthanc.client.get_instance_file(instance_id)[128:132] == b"DICM"
    print(  # the figures for the closing note
        f"\nF5: {total} instances, {acked_at_kill} acknowledged before the kill, "
        f"{uploads.refused} refused while Orthanc was down, 0 lost; "
        f"reconciliation orphans: { {k: len(v) for k, v in report.orphans.items()} }, "
        f"orphan files: {len(report.orphan_files.orphans)} of {report.orphan_files.files}"
    )


def _all_instances(orthanc: OrthancHandle) -> list[str]:
    return [
        i
        for study in orthanc.client.list_study_ids()
        for i in orthanc.client.get_study(study).instance_ids
    ]


def _wait_until_stable(orthanc: OrthancHandle, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        studies = orthanc.client.list_study_ids()
        if all(orthanc.client.get_study(i).is_stable for i in studies):
            return
        time.sleep(0.2)
    raise AssertionError(f"Orthanc's studies were not stable after {timeout} s")


def test_the_same_study_by_c_store_and_stow_is_one_study_one_job_one_worklist_entry(
    world: World, orthanc: OrthancHandle, tmp_path: Path
) -> None:
    path, ds = fresh_ct(tmp_path)
    assert storescu(orthanc, world.consortium.node_a.ae_title, path).returncode == 0
    assert world.drain_until(ds.StudyInstanceUID) is not None
    app = create_app()
    app.dependency_overrides[orthanc_client] = lambda: orthanc.client
    app.dependency_overrides[object_store] = lambda: LocalDiskStore(tmp_path / "objects")
    with live_server(app) as url:
        status = stow(url, bearer(world.consortium.users["staff_a"]), ds)
    time.sleep(2.0)  # past StableAge, so any second StableStudy is in the feed
    watcher = world.watcher()
    while watcher.run_once():
        pass

    assert status == 200
    uid = str(ds.StudyInstanceUID)
    assert _counts_per_uid(world.db, [uid]) == {uid: (1, 1, 1)}


def test_killing_watcher_and_orthanc_together_loses_and_duplicates_nothing(
    own_world: World, tmp_path: Path
) -> None:
    """F14, power-loss approximation: both die at once; the restarted watcher reconciles."""
    world, n_studies = own_world, 10
    watcher = WatcherProcess(world.db, world.orthanc, tmp_path)
    files = [fresh_ct(tmp_path) for _ in range(n_studies)]
    uids = [str(ds.StudyInstanceUID) for _, ds in files]
    acked: list[str] = []

    def send() -> None:  # a modality retries a failed association until it is accepted
        for path, ds in files:
            deadline = time.monotonic() + 60
            while storescu(world.orthanc, world.consortium.node_a.ae_title, path).returncode:
                assert time.monotonic() < deadline, "a study was never accepted"
                time.sleep(0.3)
            acked.append(str(ds.StudyInstanceUID))
            time.sleep(0.1)

    watcher.start()
    sender = threading.Thread(target=send)
    sender.start()
    while len(acked) < 3:
        time.sleep(0.05)
    pid = world.orthanc.process.pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    watcher.kill9()
    at_kill = len(acked)
    world.orthanc.process.stop()
    time.sleep(1.0)
    world.orthanc.process.start()
    world.orthanc.process.wait_ready(timeout=20)
    watcher.start()
    try:
        sender.join(timeout=90)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if all(c == (1, 1, 1) for c in _counts_per_uid(world.db, uids).values()):
                break
            time.sleep(0.3)
    finally:
        watcher.stop()

    assert at_kill < n_studies and sorted(acked) == sorted(uids)
    assert _counts_per_uid(world.db, uids) == dict.fromkeys(uids, (1, 1, 1))
