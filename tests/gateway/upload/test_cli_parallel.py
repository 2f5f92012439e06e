"""``radbridge upload --parallel 4`` as a real process: killed mid-batch, resumed, whole once."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import select

from services.models import UploadBatch
from tests.fixtures.consortium import Consortium
from tests.fixtures.databases import Database
from tests.fixtures.orthanc import OrthancHandle
from tests.gateway.upload.conftest import ROOT, ClinicUpload, drain, make_study
from tests.gateway.upload.test_cli import (
    instances_in_orthanc,
    run,
    stored_files,
    uploads_in_batch,
    wait_until,
)

pytestmark = pytest.mark.e2e
FILES = 40


def test_a_parallel_upload_killed_mid_batch_resumes_and_the_study_arrives_whole_once(
    clinic_upload: ClinicUpload,
    consortium: Consortium,
    orthanc: OrthancHandle,
    use_database: Database,
    tmp_path: Path,
) -> None:
    study_uid, _ = make_study(tmp_path / "export", FILES)
    state = clinic_upload.state
    argv = clinic_upload.argv(tmp_path / "export", "--chunk-size", "4096", "--parallel", "4")
    first = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_until(lambda: stored_files(state) >= 8, 120, "8 files stored")
    first.send_signal(signal.SIGKILL)  # four files are in flight, at various offsets
    first.wait(timeout=10)
    assert 8 <= stored_files(state) < FILES

    assert drain(orthanc, use_database, study_uid, timeout=4) == []  # no half CT for readers

    second = run(argv)

    assert second.returncode == 0, second.stderr
    assert f"FINALIZED ({FILES}/{FILES})" in second.stderr
    assert len(drain(orthanc, use_database, study_uid, timeout=20)) == 1
    assert instances_in_orthanc(orthanc, use_database, study_uid) == FILES
    with use_database.factory() as session:
        batches = session.scalars(
            select(UploadBatch).where(UploadBatch.organization_id == consortium.clinic_a.id)
        ).all()
    assert [(b.expected_files, b.status) for b in batches] == [(FILES, "FINALIZED")]
    assert uploads_in_batch(batches[0].key) == FILES  # in-flight files resumed, none twice


def test_parallel_files_finishing_together_finalize_their_batch(
    clinic_upload: ClinicUpload, orthanc: OrthancHandle, use_database: Database, tmp_path: Path
) -> None:
    # Small files, 8 at once: the last ones settle together and the batch counts them all
    # (the race itself is pinned down in tests/services/test_upload_batch_counting.py).
    study_uid, _ = make_study(tmp_path / "export", 24)
    result = run(clinic_upload.argv(tmp_path / "export", "--parallel", "8"))

    assert result.returncode == 0, result.stderr
    assert "FINALIZED (24/24)" in result.stderr
    assert len(drain(orthanc, use_database, study_uid, timeout=20)) == 1
    assert instances_in_orthanc(orthanc, use_database, study_uid) == 24
