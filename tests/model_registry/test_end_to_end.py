"""Registry routing end to end: real Orthanc, Triton and database.

A model version is added with ``install.add`` (check inference on the real Triton), the
consortium subscribes, a clinic C-STOREs a CT, the ingest watcher registers it, routing gives
the job its series, and the runner runs it: the job records the series, the input's modality
and pixel statistics, which the monitoring reads back.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from gateway.ingest.watcher import FEED, ChangeWatcher
from gateway.orthanc.aliases import node_alias
from inference import runner
from inference.circuit import CircuitBreaker
from inference.dicom.source import OrthancInstanceSource
from inference.dicom.writer import OrthancResultWriter
from inference.registry import install
from inference.registry.repository import LocalRepository
from inference.result_sr_job import write_result_sr
from inference.triton.grpc_client import GrpcInferenceClient
from inference.triton.server import LocalTriton
from services.change_feed import service as cursor
from services.finding import service as finding_service
from services.inference_job import service as job_service
from services.kit.settings import get_settings
from services.model_registry import monitoring
from services.model_registry import service as registry
from services.models import InferenceJob, Study
from services.study.routing import configured_routes
from tests.fixtures.consortium import Consortium, build_consortium
from tests.fixtures.databases import Database
from tests.fixtures.orthanc import PASSWORD, USERNAME, OrthancHandle, fresh_ct, last_seq, storescu
from tests.model_registry.manifests import write_variant

pytestmark = pytest.mark.integration


@pytest.fixture
def linked(clean_registry: Database, orthanc: OrthancHandle) -> Iterator[Consortium]:
    """A consortium whose clinic A node may C-STORE, the change feed at Orthanc's head."""
    with clean_registry.factory.begin() as session:
        built = build_consortium(session)
    node = built.node_a
    orthanc.client.set_modality(node_alias(node.id), node.ae_title, node.host, node.port)
    with clean_registry.factory.begin() as session:
        cursor.advance(session, FEED, last_seq(orthanc))
    yield built
    orthanc.client.delete_modality(node_alias(node.id))


def register_ct(
    orthanc: OrthancHandle, consortium: Consortium, db: Database, folder: Path
) -> Study:
    path, dataset = fresh_ct(folder)
    assert storescu(orthanc, consortium.node_a.ae_title, path).returncode == 0
    watcher = ChangeWatcher(orthanc.client, configured_routes(get_settings()), db.factory)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        watcher.run_once()
        with db.factory() as session:
            study = session.scalar(
                select(Study).where(Study.study_instance_uid == dataset.StudyInstanceUID)
            )
        if study is not None:
            return study
        time.sleep(0.3)
    pytest.fail("the C-STORE'd study was not registered within 20 s")


def add_and_subscribe(
    db: Database,
    consortium: Consortium,
    triton_server: LocalTriton,
    client: GrpcInferenceClient,
    folder: Path,
    state: str,
) -> None:
    """Add the image-quality model, here certified for CT too (a deployment's own manifest)."""
    manifest = write_variant(folder / "model", match={"modalities": ["CT"]})
    outcome = install.add(
        manifest,
        target=LocalRepository(folder / "repo"),
        client=client,
        http_url=triton_server.http_url,
        state=state,
    )
    assert outcome.state == state
    assert outcome.check is not None
    with db.factory.begin() as session:
        registry.subscribe(session, tenant_id=consortium.tenant.id, model_name="image_quality")


def run(orthanc: OrthancHandle, client: GrpcInferenceClient, job: InferenceJob) -> str:
    source = OrthancInstanceSource(orthanc.http_url, USERNAME, PASSWORD)
    writer = OrthancResultWriter(orthanc.http_url, USERNAME, PASSWORD)
    try:
        outcome = runner.run_job(
            job.id, settings=get_settings(), client=client, source=source, breaker=CircuitBreaker()
        )
        write_result_sr(job.id, source=source, writer=writer)  # the follow-up the commit queued
        return outcome
    finally:
        source.close()
        writer.close()


def test_added_model_is_routed_run_and_monitored(
    clean_registry: Database,
    linked: Consortium,
    orthanc: OrthancHandle,
    triton_server: LocalTriton,
    triton_client: GrpcInferenceClient,
    tmp_path: Path,
):
    add_and_subscribe(clean_registry, linked, triton_server, triton_client, tmp_path, "enabled")
    study = register_ct(orthanc, linked, clean_registry, tmp_path)
    assert study.ai_status == "AI_PENDING"
    with clean_registry.factory() as session:
        (job,) = job_service.jobs_of_study(session, study.id)
    assert job.input_series_uid is not None
    assert (job.model_name, job.model_version, job.shadow) == ("image_quality", "1", False)

    assert run(orthanc, triton_client, job) == "succeeded"

    with clean_registry.factory() as session:
        done = session.get(InferenceJob, job.id)
        assert done is not None
        assert done.status == "SUCCEEDED"
        assert done.result_sr_uid is not None
        assert done.input_modality == "CT"
        assert done.input_stats is not None
        assert 0.0 <= done.input_stats["mean"] <= 1.0
        assert done.input_stats["n"] == 256 * 256
        assert finding_service.of_study(session, study.id)
        figures = monitoring.monitor(
            session,
            tenant_id=linked.tenant.id,
            name="image_quality",
            version="1",
            window=monitoring.Window.ending_now(days=1, baseline_days=7),
        )
    assert (figures.runs, figures.succeeded, figures.failed) == (1, 1, 0)
    assert figures.infer_ms["p50"] is not None
    assert figures.drift.modality_mix_current == {"CT": 1.0}


def test_shadow_version_runs_without_showing_anything_to_readers(
    clean_registry: Database,
    linked: Consortium,
    orthanc: OrthancHandle,
    triton_server: LocalTriton,
    triton_client: GrpcInferenceClient,
    tmp_path: Path,
):
    add_and_subscribe(clean_registry, linked, triton_server, triton_client, tmp_path, "shadow")
    study = register_ct(orthanc, linked, clean_registry, tmp_path)
    assert study.ai_status == "AI_SKIPPED"
    with clean_registry.factory() as session:
        (job,) = job_service.jobs_of_study(session, study.id)
    assert job.shadow is True

    assert run(orthanc, triton_client, job) == "succeeded"

    with clean_registry.factory() as session:
        done = session.get(InferenceJob, job.id)
        refreshed = session.get(Study, study.id)
        assert done is not None
        assert refreshed is not None
        assert done.status == "SUCCEEDED"
        assert done.result_sr_uid is None  # no SR written into the readers' study
        assert refreshed.ai_status == "AI_SKIPPED"
        assert finding_service.of_study(session, study.id) == []
        assert finding_service.of_study(session, study.id, include_shadow=True)
    assert study.orthanc_id is not None
    assert len(orthanc.client.get_study(study.orthanc_id).series) == 1  # the CT only, no SR
