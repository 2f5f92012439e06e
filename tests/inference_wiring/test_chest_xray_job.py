"""The DenseNet chest pipeline through the runner: routed by view, run on Triton, SR written.

Real Orthanc (storescu as the clinic), a real database and a Triton serving the DenseNet-121
exported from **randomly initialised weights**: the scores mean nothing, the flow is the test.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import highdicom as hd
import pytest
import yaml
from sqlalchemy import select

from gateway.ingest.watcher import FEED
from gateway.orthanc.aliases import node_alias
from inference import runner
from inference.circuit import CircuitBreaker
from inference.dicom.source import OrthancInstanceSource
from inference.dicom.writer import OrthancResultWriter
from inference.models.repository import model_repository_source
from inference.pipelines import chest_xray
from inference.result_sr_job import write_result_sr
from inference.triton.grpc_client import GrpcInferenceClient
from services.change_feed import service as cursor
from services.contracts.task_names import WRITE_RESULT_SR
from services.inference_job import service as job_service
from services.kit import db as kit_db
from services.kit.settings import get_settings
from services.model_registry import service as registry
from services.models import AiFinding, InferenceJob
from tests.fixtures.consortium import Consortium
from tests.fixtures.databases import Database
from tests.fixtures.orthanc import PASSWORD, USERNAME, OrthancHandle, last_seq
from tests.inference.test_chest_xray_densenet import (  # noqa: F401  (fixtures used by name)
    densenet_triton,
    exported,
    weights,
)
from tests.inference.test_results_sr import dciodvfy
from tests.inference_wiring.test_series_routing import store_radiograph
from tests.model_registry.conftest import register_checked

pytestmark = pytest.mark.integration
SHIPPED = model_repository_source() / "chest_xray_densenet" / "manifest.yaml"


@pytest.fixture
def subscribed(
    clean_registry: Database, consortium: Consortium, orthanc: OrthancHandle
) -> Iterator[Consortium]:
    node = consortium.node_a
    orthanc.client.set_modality(node_alias(node.id), node.ae_title, node.host, node.port)
    with clean_registry.factory.begin() as session:
        cursor.advance(session, FEED, last_seq(orthanc))
        register_checked(session, yaml.safe_load(SHIPPED.read_text(encoding="utf-8")))
        registry.subscribe(
            session, tenant_id=consortium.tenant.id, model_name=chest_xray.MODEL_NAME
        )
    yield consortium
    orthanc.client.delete_modality(node_alias(node.id))


def test_frontal_radiograph_runs_the_densenet_and_gets_its_sr(
    subscribed: Consortium,
    orthanc: OrthancHandle,
    clean_registry: Database,
    densenet_triton: GrpcInferenceClient,  # noqa: F811
    tmp_path: Path,
) -> None:
    study, _client = store_radiograph(orthanc, subscribed, clean_registry, tmp_path, "AP")
    with clean_registry.factory() as session:
        (job,) = job_service.jobs_of_study(session, study.id)
    assert (job.model_name, job.model_version) == (chest_xray.MODEL_NAME, "1")
    source = OrthancInstanceSource(orthanc.http_url, USERNAME, PASSWORD)
    writer = OrthancResultWriter(orthanc.http_url, USERNAME, PASSWORD)
    try:
        outcome = runner.run_job(
            job.id,
            settings=get_settings(),
            client=densenet_triton,
            source=source,
            breaker=CircuitBreaker(),
        )
        assert outcome == "succeeded"
        queued = [m.task_name for m in kit_db.PUBLISHER.sent if m.kwargs == {"job_id": str(job.id)}]
        assert WRITE_RESULT_SR in queued
        with clean_registry.factory() as session:
            done = session.get(InferenceJob, job.id)
            findings = list(session.scalars(select(AiFinding).where(AiFinding.job_id == job.id)))
        assert done is not None and done.status == "SUCCEEDED"
        assert done.result_sr_uid is None  # the finding is committed before the SR exists
        assert findings and all(
            f.detail["model"]["name"] == chest_xray.MODEL_NAME for f in findings
        )

        assert write_result_sr(job.id, source=source, writer=writer) == "written"
        assert write_result_sr(job.id, source=source, writer=writer) == "skipped"  # idempotent
    finally:
        source.close()
        writer.close()

    with clean_registry.factory() as session:
        done = session.get(InferenceJob, job.id)
    assert done is not None and done.result_sr_uid
    info = orthanc.client.get_study(study.orthanc_id or "")
    (sr_series,) = [s for s in info.series if s.modality == "SR"]
    path = tmp_path / "densenet-sr.dcm"
    path.write_bytes(orthanc.client.get_instance_file(sr_series.instance_ids[0]))
    errors, _warnings = dciodvfy(path)
    assert errors == [], "\n".join(errors)
    sr = hd.sr.srread(path)
    assert sr.SOPInstanceUID == done.result_sr_uid
    assert sr.ManufacturerModelName == chest_xray.MODEL_NAME
