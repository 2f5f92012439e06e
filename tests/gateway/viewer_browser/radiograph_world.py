"""A radiograph study with a finished image-quality run: its SR carries the collimated field.

Clinic A sends a collimated DX through the gateway's STOW-RS; the change-feed watcher registers
it; the run's finding holds the exposed field as the image-quality pipeline stores it, and the
inference follow-up (``write_result_sr``) writes the SR (with the field as an image region)
and the GSPS outlining it into the study.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from dicomweb_client.api import DICOMwebClient
from sqlalchemy import select

from gateway.api.app import create_app
from gateway.api.dependencies import object_store, orthanc_client
from gateway.dicomweb.upstream import OrthancDicomWeb, orthanc_dicomweb
from gateway.ingest.watcher import FEED
from gateway.viewer_web import bundle
from inference.dicom.source import OrthancInstanceSource
from inference.dicom.writer import OrthancResultWriter
from inference.pipelines.image_quality import FieldGeometry
from inference.result_sr_job import write_result_sr
from services.change_feed import service as cursor
from services.kit.storage import LocalDiskStore
from services.models import AiFinding, InferenceJob, Study
from tests.fixtures.consortium import Consortium, build_consortium
from tests.fixtures.databases import Database
from tests.fixtures.live_server import live_server
from tests.fixtures.orthanc import PASSWORD, USERNAME, OrthancHandle, last_seq
from tests.gateway.upload.conftest import drain, token_for
from tests.inference.test_results_gsps import collimated_dx, field_of

SHAPE = (600, 500)  # rows, columns of the radiograph


@dataclass
class RadiographWorld:
    """One consortium's DX study with its image-quality SR and GSPS; a served gateway."""

    mine: Consortium
    study_uid: str
    dx_series_uid: str
    sr_series_uid: str
    pr_series_uid: str
    field: FieldGeometry
    url: str


def _finished_quality_job(
    db: Database, study: Study, series_uid: str, sop_uid: str, field: FieldGeometry
) -> uuid.UUID:
    """Finish the study's image-quality run as the runner does, the field in its finding."""
    with db.factory.begin() as session:
        job = session.scalars(
            select(InferenceJob).where(
                InferenceJob.study_id == study.id, InferenceJob.model_name == "image_quality"
            )
        ).one()
        job.status = "SUCCEEDED"
        job.input_series_uid = series_uid
        job.input_modality = "DX"
        image = {
            "sop_instance_uid": sop_uid,
            "measures": {"exposure": 0.42},
            "field": field.as_detail(),
        }
        session.add(
            AiFinding(
                tenant_id=study.tenant_id,
                study_id=study.id,
                job_id=job.id,
                model_name=job.model_name,
                model_version=job.model_version,
                code="image-quality-adequate",
                label_en="Image quality adequate",
                label_zh="图像质量合格",
                score=0.8,
                severity="normal",
                detail={"retake_score": 0.2, "worst_image_index": 0, "images": [image]},
            )
        )
        return job.id


@pytest.fixture
def radiograph_world(
    use_database: Database, orthanc: OrthancHandle, tmp_path: Path
) -> Iterator[RadiographWorld]:
    """Clinic A's collimated DX sent by STOW-RS and registered, with the AI SR and GSPS."""
    if not bundle.installed():
        pytest.fail(f"The OHIF viewer {bundle.PACKAGE}@{bundle.VERSION} is not installed.")
    with use_database.factory.begin() as session:
        mine = build_consortium(session)
    with use_database.factory.begin() as session:
        cursor.advance(session, FEED, last_seq(orthanc))
    image, truth = collimated_dx(SHAPE)
    image.PatientName, image.PatientID = "Li^Na", f"R{uuid.uuid4().hex[:6]}"
    field = field_of(truth, SHAPE)

    app = create_app()
    store = LocalDiskStore(tmp_path / "objects")
    upstream = OrthancDicomWeb(orthanc.http_url, USERNAME, PASSWORD)
    app.dependency_overrides[orthanc_client] = lambda: orthanc.client
    app.dependency_overrides[object_store] = lambda: store
    app.dependency_overrides[orthanc_dicomweb] = lambda: upstream
    source = OrthancInstanceSource(orthanc.http_url, USERNAME, PASSWORD)
    writer = OrthancResultWriter(orthanc.http_url, USERNAME, PASSWORD)
    study_uid = str(image.StudyInstanceUID)
    try:
        with live_server(app) as url:
            auth = {"Authorization": f"Bearer {token_for(mine, 'staff_a')}"}
            client = DICOMwebClient(f"{url}/dicomweb", headers=auth)
            assert len(client.store_instances([image]).ReferencedSOPSequence) == 1
            assert drain(orthanc, use_database, study_uid, timeout=30), "study not registered"
            with use_database.factory() as session:
                study = session.scalars(
                    select(Study).where(Study.study_instance_uid == study_uid)
                ).one()
            dx_series = str(image.SeriesInstanceUID)
            job_id = _finished_quality_job(
                use_database, study, dx_series, str(image.SOPInstanceUID), field
            )
            assert write_result_sr(job_id, source=source, writer=writer) == "written"
            written = {
                s.modality: s.series_instance_uid
                for s in orthanc.client.get_study(study.orthanc_id or "").series
            }
            yield RadiographWorld(
                mine=mine,
                study_uid=study_uid,
                dx_series_uid=dx_series,
                sr_series_uid=written["SR"],
                pr_series_uid=written["PR"],
                field=field,
                url=url,
            )
    finally:
        source.close()
        writer.close()
        upstream.close()
