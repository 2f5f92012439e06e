"""``radbridge upload`` as a real process: folders, DICOMDIR, a kill -9 mid-upload, --watch."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from pydicom.fileset import FileSet
from sqlalchemy import select

from services.api.app import create_app as create_api
from services.kit.settings import get_settings
from services.models import UploadBatch
from tests.fixtures.consortium import PASSWORD as CONSORTIUM_PASSWORD
from tests.fixtures.consortium import Consortium
from tests.fixtures.databases import Database
from tests.fixtures.live_server import live_server
from tests.fixtures.orthanc import OrthancHandle
from tests.gateway.upload.conftest import (
    PYTHON,
    ROOT,
    ClinicUpload,
    GatewayProcess,
    drain,
    make_study,
    registered,
    token_for,
    upload_command,
)

pytestmark = pytest.mark.e2e


def run(argv: list[str], timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=timeout)


def stored_files(state: Path) -> int:
    try:
        data = json.loads(state.read_text())
    except (OSError, ValueError):
        return 0
    return sum(len(server["stored"]) for server in data["servers"].values())


def wait_until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def uploads_in_batch(key: str) -> int:
    """Count the tus uploads the gateway created for a batch (one per file if all resumed)."""
    folder = get_settings().state_dir / "uploads"
    infos = [json.loads(p.read_text()) for p in folder.glob("*/info.json")]
    return sum(1 for info in infos if info["metadata"].get("batch") == key)


def instances_in_orthanc(orthanc: OrthancHandle, db: Database, study_uid: str) -> int:
    (study,) = registered(db, study_uid)
    assert study.orthanc_id is not None
    series = orthanc.client.get_study(study.orthanc_id).series
    return sum(int(s.instance_count) for s in series)


class TestFolders:
    def test_a_folder_of_many_files_arrives_as_one_study(
        self,
        clinic_upload: ClinicUpload,
        orthanc: OrthancHandle,
        use_database: Database,
        tmp_path: Path,
    ) -> None:
        study_uid, _ = make_study(tmp_path / "export" / "series1", 120)
        (tmp_path / "export" / "notes.txt").write_text("not an image")
        started = time.monotonic()

        result = run(clinic_upload.argv(tmp_path / "export"))

        elapsed = time.monotonic() - started
        assert result.returncode == 0, result.stderr
        assert "120 instances stored" in result.stderr
        assert "skipped (not DICOM or zip)" in result.stderr
        assert len(drain(orthanc, use_database, study_uid, timeout=20)) == 1
        assert instances_in_orthanc(orthanc, use_database, study_uid) == 120
        print(f"\n120 files x 39 kB through the CLI: {elapsed:.1f} s")

    def test_a_dicomdir_sends_the_files_it_lists(
        self,
        clinic_upload: ClinicUpload,
        orthanc: OrthancHandle,
        use_database: Database,
        tmp_path: Path,
    ) -> None:
        study_uid, paths = make_study(tmp_path / "s", 4)
        fileset = FileSet()
        for path in paths:
            fileset.add(str(path))
        fileset.write(tmp_path / "cd")

        result = run(clinic_upload.argv(tmp_path / "cd" / "DICOMDIR"))

        assert result.returncode == 0, result.stderr
        assert "4 instances stored" in result.stderr
        assert len(drain(orthanc, use_database, study_uid, timeout=20)) == 1

    def test_a_refused_zip_is_reported_and_the_exit_code_says_so(
        self, clinic_upload: ClinicUpload, tmp_path: Path
    ) -> None:
        import zipfile

        with zipfile.ZipFile(tmp_path / "slip.zip", "w") as archive:
            archive.writestr("../../evil.dcm", b"x")

        result = run(clinic_upload.argv(tmp_path / "slip.zip"))

        assert result.returncode == 1
        assert "refused" in result.stderr and "outside the archive" in result.stderr


class TestInterruptions:
    def test_a_client_killed_mid_upload_resumes_and_the_study_arrives_whole_once(
        self,
        clinic_upload: ClinicUpload,
        consortium: Consortium,
        orthanc: OrthancHandle,
        use_database: Database,
        tmp_path: Path,
    ) -> None:
        study_uid, _ = make_study(tmp_path / "export", 40)
        state = clinic_upload.state
        argv = clinic_upload.argv(tmp_path / "export", "--chunk-size", "4096")
        first = subprocess.Popen(
            argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        wait_until(lambda: stored_files(state) >= 8, 120, "8 files stored")
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
        sent_before = stored_files(state)
        assert 8 <= sent_before < 40

        # Half a CT is in Orthanc and stable, but no reader may see it yet.
        assert drain(orthanc, use_database, study_uid, timeout=4) == []

        second = run(argv)

        assert second.returncode == 0, second.stderr
        assert len(drain(orthanc, use_database, study_uid, timeout=20)) == 1
        assert instances_in_orthanc(orthanc, use_database, study_uid) == 40
        with use_database.factory() as session:
            batches = session.scalars(
                select(UploadBatch).where(UploadBatch.organization_id == consortium.clinic_a.id)
            ).all()
        assert [(b.expected_files, b.status) for b in batches] == [(40, "FINALIZED")]
        assert uploads_in_batch(batches[0].key) == 40  # resumed, never a file sent twice

    def test_a_gateway_restarted_mid_upload_is_waited_for_and_resumed(
        self,
        gateway_process: GatewayProcess,
        consortium: Consortium,
        orthanc: OrthancHandle,
        use_database: Database,
        tmp_path: Path,
    ) -> None:
        study_uid, _ = make_study(tmp_path / "export", 30)
        state = tmp_path / "s.json"
        argv = upload_command(
            gateway_process.url,
            token_for(consortium, "staff_b"),
            state,
            tmp_path / "export",
            "--chunk-size",
            "4096",
        )
        client = subprocess.Popen(
            argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        wait_until(lambda: stored_files(state) >= 5, 120, "5 files stored")
        gateway_process.kill()
        time.sleep(1.5)
        gateway_process.start()

        _, stderr = client.communicate(timeout=240)

        assert client.returncode == 0, stderr
        assert "30 instances stored" in stderr
        (study,) = drain(orthanc, use_database, study_uid, timeout=20)
        assert study.organization_id == consortium.clinic_b.id
        assert instances_in_orthanc(orthanc, use_database, study_uid) == 30


class TestWatch:
    def test_new_files_are_sent_once_they_stop_changing(
        self,
        clinic_upload: ClinicUpload,
        orthanc: OrthancHandle,
        use_database: Database,
        tmp_path: Path,
    ) -> None:
        inbox = tmp_path / "inbox"
        inbox.mkdir()
        watcher = subprocess.Popen(
            clinic_upload.argv(inbox, "--watch", "--stable-seconds", "1"),
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            time.sleep(2)  # watching
            study_uid, _ = make_study(inbox / "study", 5)

            studies = drain(orthanc, use_database, study_uid, timeout=40)
        finally:
            watcher.send_signal(signal.SIGTERM)
            _, stderr = watcher.communicate(timeout=30)

        assert len(studies) == 1, stderr
        assert instances_in_orthanc(orthanc, use_database, study_uid) == 5
        assert "5 instances stored" in stderr


class TestSignIn:
    def test_the_uploader_signs_in_with_a_password_through_the_api(
        self,
        gateway_url: str,
        consortium: Consortium,
        orthanc: OrthancHandle,
        use_database: Database,
        tmp_path: Path,
    ) -> None:
        study_uid, _ = make_study(tmp_path / "export", 2)
        with live_server(create_api()) as api_url:
            result = run(
                [
                    PYTHON,
                    "-m",
                    "services.cli",
                    "upload",
                    str(tmp_path / "export"),
                    "--server",
                    gateway_url,
                    "--api",
                    api_url,
                    "--user",
                    consortium.username("staff_b"),
                    "--password",
                    CONSORTIUM_PASSWORD,
                    "--state",
                    str(tmp_path / "s.json"),
                    "--no-progress",
                ]
            )

        assert result.returncode == 0, result.stderr
        (study,) = drain(orthanc, use_database, study_uid, timeout=20)
        assert study.organization_id == consortium.clinic_b.id

    def test_a_wrong_password_says_so(self, consortium: Consortium, tmp_path: Path) -> None:
        _, _ = make_study(tmp_path / "export", 1)
        with live_server(create_api()) as api_url:
            result = run(
                [
                    PYTHON,
                    "-m",
                    "services.cli",
                    "upload",
                    str(tmp_path / "export"),
                    "--server",
                    "http://127.0.0.1:9",
                    "--api",
                    api_url,
                    "--user",
                    consortium.username("staff_b"),
                    "--password",
                    "wrong",
                    "--state",
                    str(tmp_path / "s.json"),
                    "--no-progress",
                ]
            )

        assert result.returncode != 0
        assert "Sign-in refused" in result.stderr
