"""Reconciliation on a real Orthanc of this module's own: each situation is created for real.

Orphans (stored but never registered), vanished studies, and work stuck half-way; the
``radbridge gateway reconcile`` command reports the same counts from a separate process.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import ColumnElement, func, select, update

from gateway.ingest.reconcile import Reconciler, ReconcileReport
from gateway.ingest.watcher import FEED
from services.change_feed import service as cursor
from services.contracts.task_names import ARCHIVE_STUDY, RUN_INFERENCE
from services.kit.clock import utc_now
from services.kit.db import PUBLISHER
from services.kit.settings import get_settings
from services.models import AuditEvent, InferenceJob, QuarantineItem, Study, WorklistItem
from services.study import origin as study_origin
from services.study.routing import configured_routes
from tests.fixtures.orthanc import PASSWORD, USERNAME, fresh_ct, last_seq, storescu
from tests.gateway.housekeeping.conftest import World

pytestmark = pytest.mark.integration


def _reconcile(world: World, *, act: bool = True) -> ReconcileReport:
    reconciler = Reconciler(
        world.orthanc.client,
        configured_routes(get_settings()),
        world.db.factory,
        stuck_after=timedelta(minutes=30),
    )
    return reconciler.run(act=act)


def _missed_by_the_watcher(world: World, tmp_path: Path) -> tuple[str, str]:
    """C-STORE a study from clinic A, then move the cursor past it as if the feed lost it."""
    path, ds = fresh_ct(tmp_path)
    assert storescu(world.orthanc, world.consortium.node_a.ae_title, path).returncode == 0
    _wait_stable(world)
    with world.db.factory.begin() as session:
        cursor.advance(session, FEED, last_seq(world.orthanc))
    orthanc_id = next(
        i
        for i in world.orthanc.client.list_study_ids()
        if world.orthanc.client.get_study(i).study_instance_uid == ds.StudyInstanceUID
    )
    return orthanc_id, str(ds.StudyInstanceUID)


def _wait_stable(world: World) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        ids = world.orthanc.client.list_study_ids()
        if all(world.orthanc.client.get_study(i).is_stable for i in ids):
            return
        time.sleep(0.2)
    raise AssertionError("Orthanc studies did not become stable within 15 s")


@pytest.fixture
def registered_study(private_world: World, tmp_path: Path) -> Study:
    """A study clinic A sent by C-STORE, registered by the watcher."""
    path, ds = fresh_ct(tmp_path)
    storescu(private_world.orthanc, private_world.consortium.node_a.ae_title, path)
    study = private_world.drain_until(ds.StudyInstanceUID)
    assert study is not None
    return study


def _all(report: ReconcileReport) -> set[str]:
    return {orthanc_id for ids in report.orphans.values() for orthanc_id in ids}


def _count(world: World, model: type, *where: ColumnElement[bool]) -> int:
    with world.db.factory() as session:
        return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


class TestOrphans:
    def test_a_study_the_watcher_missed_is_registered_once(
        self, private_world: World, tmp_path: Path
    ) -> None:
        world = private_world
        orthanc_id, uid = _missed_by_the_watcher(world, tmp_path)

        report = _reconcile(world)
        again = _reconcile(world)

        assert orthanc_id in report.orphans["registered"]
        assert orthanc_id not in _all(again)
        with world.db.factory() as session:
            study = session.scalar(select(Study).where(Study.study_instance_uid == uid))
        assert study is not None and study.organization_id == world.consortium.clinic_a.id
        assert _count(world, WorklistItem, WorklistItem.study_id == study.id) == 1
        assert _count(world, InferenceJob, InferenceJob.study_id == study.id) == 1
        assert _count(world, AuditEvent, AuditEvent.object_id == orthanc_id) == 1

    def test_an_upload_noted_by_the_gateway_is_registered_for_its_uploader(
        self, private_world: World, tmp_path: Path
    ) -> None:
        world = private_world
        path, ds = fresh_ct(tmp_path)
        upload = world.orthanc.client.upload_instance(path.read_bytes())
        with world.db.factory.begin() as session:
            study_origin.note_upload(
                session,
                orthanc_study_id=upload.parent_study,
                tenant_id=world.consortium.tenant.id,
                organization_id=world.consortium.clinic_b.id,
                source="stow",
                uploaded_by="test",
            )
        _wait_stable(world)

        report = _reconcile(world)

        assert upload.parent_study in report.orphans["registered"]
        with world.db.factory() as session:
            study = session.scalar(
                select(Study).where(Study.study_instance_uid == ds.StudyInstanceUID)
            )
        assert study is not None and study.organization_id == world.consortium.clinic_b.id

    def test_a_study_with_no_known_sender_is_quarantined_once(
        self, private_world: World, tmp_path: Path
    ) -> None:
        world = private_world
        path, _ = fresh_ct(tmp_path)
        upload = world.orthanc.client.upload_instance(path.read_bytes())
        _wait_stable(world)

        first = _reconcile(world)
        second = _reconcile(world)

        assert upload.parent_study in first.orphans["quarantined"]
        assert upload.parent_study not in _all(second)
        held = QuarantineItem.orthanc_id == upload.parent_study
        assert _count(world, QuarantineItem, held) == 1

    def test_a_study_still_arriving_is_left_to_the_watcher(
        self, arriving_world: World, tmp_path: Path
    ) -> None:
        world = arriving_world
        path, _ = fresh_ct(tmp_path)
        upload = world.orthanc.client.upload_instance(path.read_bytes())

        report = _reconcile(world)  # StableAge is 60 s here: not stable yet, however slow the run

        assert upload.parent_study in report.orphans["receiving"]
        assert _count(world, QuarantineItem, QuarantineItem.orthanc_id == upload.parent_study) == 0

    def test_dry_run_reports_and_changes_nothing(
        self, private_world: World, tmp_path: Path
    ) -> None:
        world = private_world
        orthanc_id, uid = _missed_by_the_watcher(world, tmp_path)

        report = _reconcile(world, act=False)

        assert orthanc_id in report.orphans["found"]
        assert _count(world, Study, Study.study_instance_uid == uid) == 0


class TestVanishedAndStuck:
    def test_a_study_deleted_behind_our_back_is_reported_vanished(
        self, private_world: World, registered_study: Study
    ) -> None:
        world, study = private_world, registered_study
        world.orthanc.client.delete_study(study.orthanc_id or "")

        report = _reconcile(world)

        assert study.id in report.vanished
        vanished = (AuditEvent.object_id == str(study.id)) & (
            AuditEvent.action == "reconcile.vanished"
        )
        assert _count(world, AuditEvent, vanished) == 1

    def test_stuck_archive_and_ai_work_is_sent_again(
        self, private_world: World, registered_study: Study
    ) -> None:
        world, study = private_world, registered_study
        hour_ago = utc_now() - timedelta(hours=1)
        with world.db.factory.begin() as session:  # the messages were lost an hour ago
            session.execute(update(Study).where(Study.id == study.id).values(received_at=hour_ago))
            session.execute(
                update(InferenceJob)
                .where(InferenceJob.study_id == study.id)
                .values(updated_at=hour_ago)
            )
        PUBLISHER.sent.clear()

        report = _reconcile(world)

        assert study.id in report.stuck.archive_requeued
        assert report.stuck.ai_jobs_requeued >= 1
        sent = {(m.task_name, tuple(m.kwargs.values())) for m in PUBLISHER.sent}
        assert (ARCHIVE_STUDY, (str(study.id),)) in sent
        with world.db.factory() as session:
            job_id = session.scalar(
                select(InferenceJob.id).where(InferenceJob.study_id == study.id)
            )
        assert (RUN_INFERENCE, (str(job_id),)) in sent

    def test_a_study_left_half_registered_is_reported(
        self, private_world: World, registered_study: Study
    ) -> None:
        world, study = private_world, registered_study
        with world.db.factory.begin() as session:
            session.execute(
                update(Study)
                .where(Study.id == study.id)
                .values(status="RECEIVED", received_at=utc_now() - timedelta(hours=2))
            )

        report = _reconcile(world)

        assert study.id in report.stuck.half_registered
        assert report.counts()["half_registered"] >= 1


class TestOrphanFiles:
    @pytest.mark.usefixtures("registered_study")  # an indexed study that must stay untouched
    def test_a_file_the_index_does_not_know_is_moved_aside(
        self, private_world: World, tmp_path: Path
    ) -> None:
        world = private_world
        storage = world.orthanc.config.storage_dir
        stray_name = str(uuid.uuid4())  # what a kill between file write and index commit leaves
        stray = storage / stray_name[:2] / stray_name[2:4] / stray_name
        stray.parent.mkdir(parents=True, exist_ok=True)
        other, _ = fresh_ct(tmp_path)
        shutil.copy(other, stray)
        old = time.time() - 3600
        os.utime(stray, (old, old))
        for kept in storage.glob("*/*/*"):
            os.utime(kept, (old, old))
        reconciler = Reconciler(
            world.orthanc.client,
            configured_routes(get_settings()),
            world.db.factory,
            storage_dir=storage,
            orphan_files_to=tmp_path / "orphans",
            orphan_grace_s=60,
        )

        dry = reconciler.run(act=False)
        assert dry.orphan_files.orphans == [stray_name] and stray.exists()
        report = reconciler.run(act=True)

        assert report.orphan_files.orphans == [stray_name] and report.orphan_files.moved == 1
        assert not stray.exists() and (tmp_path / "orphans" / stray_name).exists()
        for study_id in world.orthanc.client.list_study_ids():  # indexed files are untouched
            for instance in world.orthanc.client.get_study(study_id).instance_ids:
                assert world.orthanc.client.get_instance_file(instance)[128:132] == b"DICM"
        assert reconciler.run(act=True).orphan_files.orphans == []


class TestCommand:
    def _run(self, world: World, *args: str, url: str = "") -> subprocess.CompletedProcess[str]:
        env = {
            **os.environ,
            "RADBRIDGE_DATABASE__URL": world.db.url,
            "RADBRIDGE_ORTHANC__URL": url or world.orthanc.http_url,
            "RADBRIDGE_ORTHANC__USERNAME": USERNAME,
            "RADBRIDGE_ORTHANC__PASSWORD": PASSWORD,
        }
        command = [sys.executable, "-m", "services.cli", "gateway", "reconcile", *args]
        return subprocess.run(
            command, env=env, capture_output=True, text=True, timeout=120, check=False
        )

    def test_the_command_reports_what_it_found(self, private_world: World, tmp_path: Path) -> None:
        world = private_world
        orthanc_id, _ = _missed_by_the_watcher(world, tmp_path)

        dry = self._run(world, "--dry-run", "--json")
        done = self._run(world, "--json")

        assert dry.returncode == 0, dry.stderr
        assert orthanc_id in json.loads(dry.stdout)["orphans"]["found"]
        body = json.loads(done.stdout)
        assert orthanc_id in body["orphans"]["registered"]
        assert body["counts"]["orthanc_studies"] == len(world.orthanc.client.list_study_ids())

    def test_an_unreachable_orthanc_gets_a_clear_error(self, private_world: World) -> None:
        result = self._run(private_world, url="http://127.0.0.1:9")
        assert result.returncode == 2
        assert "Orthanc is not reachable" in result.stderr and "radbridge orthanc" in result.stderr
