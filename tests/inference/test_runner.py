"""The runner end to end on real components: Orthanc 1.10.1, Triton, a real database, dciodvfy.

A clinic's CT is registered through the ingest watcher; the runner reads it from Orthanc, runs
the image-quality model on Triton, writes a TID 1500 SR back into the study and records the
findings. Faults: Triton down (job handed back, breaker opens), a job failed for good (dead
letter, replayed), a model version Triton does not serve (FAILED once, with the reason).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import highdicom as hd
import pytest
from sqlalchemy import func, select, update

from gateway.ingest.watcher import FEED, ChangeWatcher
from gateway.orthanc.aliases import node_alias
from inference import runner
from inference.circuit import BreakerState, CircuitBreaker, CircuitOpen
from inference.dicom.source import OrthancInstanceSource
from inference.dicom.writer import OrthancResultWriter
from inference.result_sr_job import write_result_sr
from inference.triton.grpc_client import GrpcInferenceClient
from inference.triton.port import InferenceClient, TritonUnavailable
from services.auth.principal import Principal, TenantScope
from services.change_feed import service as cursor
from services.contracts.task_names import WRITE_RESULT_SR
from services.inference_job import dead_letters
from services.inference_job import service as job_service
from services.kit import db as kit_db
from services.kit.clock import utc_now
from services.kit.db import session_scope
from services.kit.settings import get_settings
from services.models import AiFinding, InferenceJob, QuarantineItem, Series, Study
from services.study import service as study_service
from services.study.routing import configured_routes
from tests.fixtures.consortium import Consortium, build_consortium
from tests.fixtures.databases import Database
from tests.fixtures.orthanc import (
    PASSWORD,
    USERNAME,
    OrthancHandle,
    fresh_ct,
    last_seq,
    storescu,
    study_id_of,
    wait_for_change,
)
from tests.fixtures.triton import free_ports
from tests.inference.test_results_sr import dciodvfy, evaluations, measurement_group

pytestmark = pytest.mark.integration


@pytest.fixture
def consortium(use_database: Database, orthanc: OrthancHandle) -> Iterator[Consortium]:
    with use_database.factory.begin() as session:
        built = build_consortium(session)
    for node in (built.node_a, built.node_b):
        orthanc.client.set_modality(node_alias(node.id), node.ae_title, node.host, node.port)
    with use_database.factory.begin() as session:
        cursor.advance(session, FEED, last_seq(orthanc))
    yield built
    for node in (built.node_a, built.node_b):
        orthanc.client.delete_modality(node_alias(node.id))


@pytest.fixture
def source(orthanc: OrthancHandle) -> Iterator[OrthancInstanceSource]:
    reader = OrthancInstanceSource(orthanc.http_url, USERNAME, PASSWORD)
    yield reader
    reader.close()


@pytest.fixture
def writer(orthanc: OrthancHandle) -> Iterator[OrthancResultWriter]:
    store = OrthancResultWriter(orthanc.http_url, USERNAME, PASSWORD)
    yield store
    store.close()


@pytest.fixture
def triton_down() -> Iterator[GrpcInferenceClient]:
    """A client pointed at a closed port: every call is TritonUnavailable."""
    (port,) = free_ports(1)
    with GrpcInferenceClient(f"127.0.0.1:{port}", timeout_s=2) as client:
        yield client


@dataclass
class Rig:
    """The real components one runner test uses."""

    orthanc: OrthancHandle
    consortium: Consortium
    db: Database
    source: OrthancInstanceSource
    writer: OrthancResultWriter
    tmp_path: Path

    def register_ct(self) -> Study:
        return register_ct(self.orthanc, self.consortium, self.db, self.tmp_path)

    def run(
        self, job: InferenceJob, client: InferenceClient, breaker: CircuitBreaker | None = None
    ) -> str:
        """Run the job, then the SR follow-up its commit queued (as the worker would)."""
        outcome = runner.run_job(
            job.id,
            settings=get_settings(),
            client=client,
            source=self.source,
            breaker=breaker or CircuitBreaker(),
        )
        if outcome == "succeeded":
            queued = follow_ups(job.id)
            assert queued == [WRITE_RESULT_SR] or only_job(self.db, job.study_id).shadow
            if queued:
                write_result_sr(job.id, source=self.source, writer=self.writer)
        return outcome


@pytest.fixture
def rig(
    orthanc: OrthancHandle,
    consortium: Consortium,
    use_database: Database,
    source: OrthancInstanceSource,
    writer: OrthancResultWriter,
    tmp_path: Path,
) -> Rig:
    return Rig(orthanc, consortium, use_database, source, writer, tmp_path)


class Clock:
    """A hand-wound monotonic clock for the breaker."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def watcher(orthanc: OrthancHandle, db: Database) -> ChangeWatcher:
    return ChangeWatcher(orthanc.client, configured_routes(get_settings()), db.factory)


def register_ct(
    orthanc: OrthancHandle, consortium: Consortium, db: Database, tmp_path: Path
) -> Study:
    """C-STORE a fresh CT from clinic A's node and run the watcher until it is registered."""
    path, ds = fresh_ct(tmp_path)
    assert storescu(orthanc, consortium.node_a.ae_title, path).returncode == 0
    feed = watcher(orthanc, db)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        feed.run_once()
        with db.factory() as session:
            stmt = select(Study).where(Study.study_instance_uid == ds.StudyInstanceUID)
            study = session.scalar(stmt)
        if study is not None:
            return study
        time.sleep(0.3)
    pytest.fail("the C-STORE'd study was not registered within 20 s")


def follow_ups(job_id: uuid.UUID) -> list[str]:
    """Return (and take off the test outbox) the tasks queued for ``job_id`` after its run."""
    mine = [m for m in kit_db.PUBLISHER.sent if m.kwargs.get("job_id") == str(job_id)]
    for message in mine:
        kit_db.PUBLISHER.sent.remove(message)
    return [m.task_name for m in mine if m.task_name != "inference.run_job"]


def only_job(db: Database, study_id: uuid.UUID) -> InferenceJob:
    with db.factory() as session:
        (job,) = job_service.jobs_of_study(session, study_id)
        return job


def study_row(db: Database, study_id: uuid.UUID) -> Study:
    with db.factory() as session:
        study = session.get(Study, study_id)
        assert study is not None
        return study


def assert_ingest_ignores_the_sr(rig: Rig, study: Study, since: int, orthanc_study: str) -> None:
    """Wait for the StableStudy the SR caused, run the watcher, check nothing grew."""
    # The SR makes the study stable again: the watcher must not take it for new data.
    assert orthanc_study == study.orthanc_id  # the SR went into the clinic's study
    change, _ = wait_for_change(
        rig.orthanc,
        since,
        lambda c: c.change_type == "StableStudy" and c.orthanc_id == orthanc_study,
    )
    assert change is not None, "Orthanc never reported the study stable after the SR"
    feed = watcher(rig.orthanc, rig.db)
    while feed.run_once():
        pass
    with rig.db.factory() as session:
        series = session.scalar(
            select(func.count()).select_from(Series).where(Series.study_id == study.id)
        )
        jobs = job_service.jobs_of_study(session, study.id)
        held = session.scalar(
            select(QuarantineItem).where(QuarantineItem.orthanc_id == study.orthanc_id)
        )
        refreshed = session.get(Study, study.id)
    assert (series, len(jobs), held) == (1, 1, None)
    assert refreshed is not None and refreshed.instance_count == study.instance_count


class TestSuccessfulRun:
    def test_sr_lands_in_the_study_valid_and_ignored_by_ingest(
        self, rig: Rig, triton_client: GrpcInferenceClient
    ) -> None:
        study = rig.register_ct()
        job = only_job(rig.db, study.id)
        before_run = last_seq(rig.orthanc)

        assert rig.run(job, triton_client) == "succeeded"

        job = only_job(rig.db, study.id)
        assert job.status == "SUCCEEDED" and job.result_sr_uid
        assert study_row(rig.db, study.id).ai_status == "AI_DONE"
        info = rig.orthanc.client.get_study(study.orthanc_id or "")
        (sr_series,) = [s for s in info.series if s.modality == "SR"]
        (image_series,) = [s for s in info.series if s.modality == "CT"]
        (sr_instance,) = sr_series.instance_ids
        path = rig.tmp_path / "result-sr.dcm"
        path.write_bytes(rig.orthanc.client.get_instance_file(sr_instance))
        errors, _warnings = dciodvfy(path)
        assert errors == [], "\n".join(errors)
        sr = hd.sr.srread(path)
        assert isinstance(sr, hd.sr.Comprehensive3DSR)
        assert sr.SOPInstanceUID == job.result_sr_uid
        assert sr.StudyInstanceUID == study.study_instance_uid
        group = measurement_group(sr)
        (image_ref,) = group.source_images
        source_file = rig.orthanc.client.get_instance_file(image_series.instance_ids[0])
        assert image_ref.referenced_sop_instance_uid.encode() in source_file
        with rig.db.factory() as session:
            (finding,) = session.scalars(select(AiFinding).where(AiFinding.job_id == job.id))
        assert (finding.label_en, "Present") in evaluations(group)

        assert_ingest_ignores_the_sr(rig, study, before_run, study_id_of(sr))

    def test_rerun_writes_the_same_sr_again(
        self, rig: Rig, triton_client: GrpcInferenceClient
    ) -> None:
        study = rig.register_ct()
        job = only_job(rig.db, study.id)
        assert rig.run(job, triton_client) == "succeeded"
        first_uid = only_job(rig.db, study.id).result_sr_uid
        with session_scope(rig.db.factory) as session:  # e.g. a replay after a crash
            session.execute(
                update(InferenceJob).where(InferenceJob.id == job.id).values(status="QUEUED")
            )

        assert rig.run(job, triton_client) == "succeeded"

        assert only_job(rig.db, study.id).result_sr_uid == first_uid
        info = rig.orthanc.client.get_study(study.orthanc_id or "")
        sr_instances = [i for s in info.series if s.modality == "SR" for i in s.instance_ids]
        assert len(sr_instances) == 1


class TestTritonDown:
    def test_job_is_handed_back_and_the_breaker_opens_after_n_failures(
        self, rig: Rig, triton_down: GrpcInferenceClient, triton_client: GrpcInferenceClient
    ) -> None:
        study = rig.register_ct()
        job = only_job(rig.db, study.id)
        clock = Clock()
        breaker = CircuitBreaker(failure_threshold=2, cooldown_s=30, clock=clock)

        for attempt in (1, 2):
            with pytest.raises(TritonUnavailable):
                rig.run(job, triton_down, breaker)
            job = only_job(rig.db, study.id)
            assert (job.status, job.attempts) == ("QUEUED", attempt)
            assert study_row(rig.db, study.id).ai_status == "AI_PENDING"
        assert breaker.state is BreakerState.OPEN

        started = time.perf_counter()
        with pytest.raises(CircuitOpen):
            rig.run(job, triton_down, breaker)
        handed_back_s = time.perf_counter() - started
        print(f"circuit open: job handed back in {handed_back_s * 1000:.1f} ms")
        assert handed_back_s < 1.0
        job = only_job(rig.db, study.id)
        assert (job.status, job.attempts) == ("QUEUED", 2)  # no attempt spent while open
        assert job.error is not None and "circuit open" in job.error
        assert study_row(rig.db, study.id).ai_status == "AI_PENDING"

        clock.now += 31  # cool-down over: one probe goes to the (now running) Triton
        assert str(breaker.state) == "half_open"
        assert rig.run(job, triton_client, breaker) == "succeeded"
        assert str(breaker.state) == "closed"
        assert study_row(rig.db, study.id).ai_status == "AI_DONE"


class TestDeadLetters:
    def test_failed_job_is_listed_replayed_and_then_succeeds(
        self, rig: Rig, triton_down: GrpcInferenceClient, triton_client: GrpcInferenceClient
    ) -> None:
        study = rig.register_ct()
        job = only_job(rig.db, study.id)
        settings = get_settings()
        with pytest.raises(TritonUnavailable):
            rig.run(job, triton_down)
        with session_scope(rig.db.factory) as session:  # out of attempts, then swept
            session.execute(
                update(InferenceJob)
                .where(InferenceJob.id == job.id)
                .values(
                    attempts=settings.job_max_attempts,
                    updated_at=utc_now() - timedelta(seconds=settings.job_lease_s + 1),
                )
            )
        with session_scope(rig.db.factory) as session:
            job_service.sweep_stale(
                session, lease_s=settings.job_lease_s, max_attempts=settings.job_max_attempts
            )
            study_service.settle_stuck_ai(session)
        assert study_row(rig.db, study.id).ai_status == "AI_FAILED"

        admin = rig.consortium.users["admin"]
        scope = TenantScope(tenant_id=rig.consortium.tenant.id, organization_ids=None)
        principal = Principal(
            subject=str(admin.id),
            kind="user",
            user_id=admin.id,
            tenant_id=admin.tenant_id,
            organization_id=admin.organization_id,
            roles=frozenset({"consortium_admin"}),
            display_name="admin",
        )
        with session_scope(rig.db.factory) as session:
            letters = dead_letters.list_dead_letters(session, scope=scope, limit=50)
            assert [(d.job_id, d.attempts) for d in letters] == [
                (job.id, settings.job_max_attempts)
            ]
            assert "gave up after" in letters[0].error
            dead_letters.replay(session, scope=scope, principal=principal, job_id=job.id)
        assert study_row(rig.db, study.id).ai_status == "AI_PENDING"

        assert rig.run(job, triton_client) == "succeeded"
        job = only_job(rig.db, study.id)
        assert (job.status, job.attempts) == ("SUCCEEDED", 1)
        assert study_row(rig.db, study.id).ai_status == "AI_DONE"


class TestModelContract:
    def test_unknown_model_version_fails_once_with_a_clear_reason(
        self, rig: Rig, triton_client: GrpcInferenceClient, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        models = [{"name": "image_quality", "version": "42", "modalities": ["CT"]}]
        monkeypatch.setenv("RADBRIDGE_AI_MODELS", json.dumps(models))
        get_settings.cache_clear()
        study = rig.register_ct()
        job = only_job(rig.db, study.id)
        assert job.model_version == "42"
        breaker = CircuitBreaker(failure_threshold=1)

        assert rig.run(job, triton_client, breaker) == "failed"

        job = only_job(rig.db, study.id)
        assert (job.status, job.attempts) == ("FAILED", 1)
        assert job.error is not None
        assert "ModelNotFound" in job.error and "version 42" in job.error
        assert breaker.state is BreakerState.CLOSED  # Triton answered: not an outage
        assert study_row(rig.db, study.id).ai_status == "AI_FAILED"
        assert rig.run(job, triton_client, breaker) == "skipped"  # not retried
        info = rig.orthanc.client.get_study(study.orthanc_id or "")
        assert [s.modality for s in info.series] == ["CT"]  # no SR for a failed run
