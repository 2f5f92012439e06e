"""A radiograph's image-quality run ends with an SR and a GSPS in its study, on real components.

A clinic C-STOREs a collimated DX (field known) into Orthanc 1.10.1; the ingest watcher
registers it, the runner runs the image_quality model on Triton, and the result follow-up
writes the SR and the GSPS outlining the field back into the study. The GSPS passes dciodvfy,
references the analysed instance, outlines the true field, and ingest does not take it (or the
SR) for new data.
"""

from __future__ import annotations

import time
import uuid

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset
from sqlalchemy import select

from inference.dicom import results_gsps, results_sr
from inference.pipelines import image_quality as pipeline
from inference.result_sr_job import write_result_sr
from inference.triton.grpc_client import GrpcInferenceClient
from services.models import AiFinding, Study
from tests.fixtures.orthanc import last_seq, storescu, study_id_of
from tests.inference.collimated_radiographs import Field, anatomy_from, collimate, dx_dataset
from tests.inference.test_results_sr import dciodvfy
from tests.inference.test_runner import (  # noqa: F401  (fixtures used by name)
    Rig,
    assert_ingest_ignores_the_sr,
    consortium,
    only_job,
    rig,
    source,
    watcher,
    writer,
)

pytestmark = pytest.mark.integration

SHAPE = (600, 500)
FIELD = Field((240.0, 310.0), (170.0, 230.0), 4.0)


def register_radiograph(bench: Rig) -> tuple[Study, Dataset]:
    """C-STORE a collimated DX from clinic A's node and run the watcher until it is registered."""
    path = get_testdata_file("examples_overlay.dcm")
    assert path is not None
    body = anatomy_from(pydicom.dcmread(path).pixel_array, SHAPE)
    dataset = dx_dataset(collimate(body, FIELD), patient_id=f"IQ-{uuid.uuid4().hex[:8]}")
    file = bench.tmp_path / f"{dataset.SOPInstanceUID}.dcm"
    dataset.save_as(file, enforce_file_format=True)
    assert storescu(bench.orthanc, bench.consortium.node_a.ae_title, file).returncode == 0
    feed = watcher(bench.orthanc, bench.db)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        feed.run_once()
        with bench.db.factory() as session:
            stmt = select(Study).where(Study.study_instance_uid == dataset.StudyInstanceUID)
            study = session.scalar(stmt)
        if study is not None:
            return study, dataset
        time.sleep(0.3)
    pytest.fail("the C-STORE'd radiograph was not registered within 20 s")


def test_radiograph_run_writes_sr_and_gsps_of_the_field(
    rig: Rig,  # noqa: F811
    triton_client: GrpcInferenceClient,
) -> None:
    study, sent = register_radiograph(rig)
    job = only_job(rig.db, study.id)
    assert (job.model_name, job.model_version) == (pipeline.MODEL_NAME, pipeline.MODEL_VERSION)
    before_run = last_seq(rig.orthanc)

    assert rig.run(job, triton_client) == "succeeded"  # the run, then its SR/GSPS follow-up

    job = only_job(rig.db, study.id)
    assert job.status == "SUCCEEDED" and job.result_sr_uid and job.error is None
    with rig.db.factory() as session:
        (finding,) = session.scalars(select(AiFinding).where(AiFinding.job_id == job.id))
    (image_detail,) = finding.detail["images"]
    assert image_detail["sop_instance_uid"] == sent.SOPInstanceUID
    assert image_detail["field"]["sides"] == ["left", "top", "right", "bottom"]

    info = rig.orthanc.client.get_study(study.orthanc_id or "")
    by_modality = {s.modality: s for s in info.series}
    assert sorted(by_modality) == ["DX", "PR", "SR"]
    (gsps_instance,) = by_modality["PR"].instance_ids
    path = rig.tmp_path / "result-gsps.dcm"
    path.write_bytes(rig.orthanc.client.get_instance_file(gsps_instance))
    errors, _warnings = dciodvfy(path)
    assert errors == [], "\n".join(errors)

    gsps = pydicom.dcmread(path)
    expected_uid, _series = results_gsps.gsps_uids(
        job.id, study.study_instance_uid, results_sr.model_identity("image_quality", "1")
    )
    assert gsps.SOPInstanceUID == expected_uid
    assert gsps.StudyInstanceUID == study.study_instance_uid
    assert (gsps.ContentLabel, gsps.Manufacturer) == ("AI", "RadBridge")
    (annotation,) = gsps.GraphicAnnotationSequence
    assert annotation.ReferencedImageSequence[0].ReferencedSOPInstanceUID == sent.SOPInstanceUID
    points = np.array(annotation.GraphicObjectSequence[0].GraphicData).reshape(-1, 2)
    truth = FIELD.corners(SHAPE) * np.array([SHAPE[1], SHAPE[0]])
    corner_error = float(np.max(np.abs(points[:4] - truth)))
    print(f"\nGSPS outline corner error {corner_error:.2f} px of a 500 x 600 DX")
    assert corner_error < 3.0  # one model-grid pixel is ~2.3 image pixels here
    text = annotation.TextObjectSequence[0].UnformattedTextValue
    assert text.startswith("AI: collimation field") and "tilt +4.0 deg" in text

    # A second follow-up (a retried message) changes nothing: same SR, same GSPS.
    assert write_result_sr(job.id, source=rig.source, writer=rig.writer) == "skipped"
    assert_ingest_ignores_the_sr(rig, study, before_run, study_id_of(gsps))
    info = rig.orthanc.client.get_study(study.orthanc_id or "")
    assert sorted(len(s.instance_ids) for s in info.series) == [1, 1, 1]
