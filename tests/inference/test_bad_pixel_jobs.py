"""A study whose pixels cannot be decoded fails its job with a clear reason and blocks nothing.

Real components: Orthanc (C-STORE from the clinic's node), the ingest watcher, the database and
Triton, as in ``test_runner``.
"""

from __future__ import annotations

import time

import pydicom
import pytest
from sqlalchemy import select

from inference.triton.grpc_client import GrpcInferenceClient
from services.models import Study
from tests.fixtures.orthanc import fresh_ct, storescu
from tests.inference.test_runner import (  # noqa: F401  (fixtures used by name)
    Rig,
    consortium,
    only_job,
    rig,
    source,
    study_row,
    watcher,
    writer,
)

pytestmark = pytest.mark.integration


def register_truncated_ct(test_rig: Rig) -> Study:
    """C-STORE a CT whose pixel data lost its last 100 bytes, and wait until it is registered."""
    path, ds = fresh_ct(test_rig.tmp_path)
    broken = pydicom.dcmread(path)
    broken.PixelData = broken.PixelData[:-100]  # an even length, as DICOM requires
    broken.save_as(path, enforce_file_format=True)
    assert storescu(test_rig.orthanc, test_rig.consortium.node_a.ae_title, path).returncode == 0
    feed = watcher(test_rig.orthanc, test_rig.db)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        feed.run_once()
        with test_rig.db.factory() as session:
            stmt = select(Study).where(Study.study_instance_uid == ds.StudyInstanceUID)
            study = session.scalar(stmt)
        if study is not None:
            return study
        time.sleep(0.3)
    pytest.fail("the truncated CT was not registered within 20 s")


def test_undecodable_pixels_fail_the_job_and_the_next_study_still_runs(
    rig: Rig,  # noqa: F811
    triton_client: GrpcInferenceClient,
):
    bad = register_truncated_ct(rig)
    bad_job = only_job(rig.db, bad.id)

    assert rig.run(bad_job, triton_client) == "failed"

    bad_job = only_job(rig.db, bad.id)
    assert bad_job.status == "FAILED"
    assert bad_job.error is not None
    assert "PixelDataError" in bad_job.error
    assert "Cannot decode the pixel data" in bad_job.error
    assert study_row(rig.db, bad.id).ai_status == "AI_FAILED"

    good = rig.register_ct()  # the next study is not held up by the broken one
    assert rig.run(only_job(rig.db, good.id), triton_client) == "succeeded"
    assert study_row(rig.db, good.id).ai_status == "AI_DONE"
