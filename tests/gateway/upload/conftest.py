"""Resumable uploads on real components: the gateway under uvicorn (in a thread or as its own
process), a real Orthanc, real databases, and the CLI as a subprocess."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.uid import generate_uid
from sqlalchemy import select

from gateway.api.app import create_app
from gateway.api.dependencies import object_store, orthanc_client
from gateway.ingest.watcher import FEED, ChangeWatcher
from services.auth.tokens import TokenClaims, issue_access_token
from services.change_feed import service as cursor
from services.kit.settings import get_settings
from services.kit.storage import LocalDiskStore
from services.models import Study
from services.study.routing import configured_routes
from tests.fixtures.consortium import Consortium, build_consortium
from tests.fixtures.databases import Database
from tests.fixtures.live_server import free_port, live_server
from tests.fixtures.orthanc import PASSWORD, USERNAME, OrthancHandle, last_seq
from tests.gateway.upload.tus import Tus

ROOT = Path(__file__).resolve().parents[3]
PYTHON = sys.executable


@pytest.fixture
def consortium(use_database: Database, orthanc: OrthancHandle) -> Consortium:
    with use_database.factory.begin() as session:
        built = build_consortium(session)
    with use_database.factory.begin() as session:  # only changes from now on concern this test
        cursor.advance(session, FEED, last_seq(orthanc))
    return built


def token_for(consortium: Consortium, key: str) -> str:
    user = consortium.users[key]
    claims = TokenClaims(
        subject=str(user.id),
        kind="user",
        tenant_id=user.tenant_id,
        organization_id=user.organization_id,
        roles=frozenset(user.role_names),
        token_id=uuid.uuid4().hex,
    )
    return issue_access_token(get_settings(), claims)[0]


@pytest.fixture
def gateway_url(orthanc: OrthancHandle, tmp_path: Path, use_database: Database) -> Iterator[str]:
    """The gateway app served by uvicorn in a thread, against the session Orthanc."""
    app = create_app()
    store = LocalDiskStore(tmp_path / "objects")
    app.dependency_overrides[orthanc_client] = lambda: orthanc.client
    app.dependency_overrides[object_store] = lambda: store
    with live_server(app) as url:
        yield url


def upload_command(url: str, token: str, state: Path, path: Path, *extra: str) -> list[str]:
    """The ``radbridge upload`` command line, without a progress bar."""
    return [
        PYTHON,
        "-m",
        "services.cli",
        "upload",
        str(path),
        "--server",
        url,
        "--token",
        token,
        "--state",
        str(state),
        "--no-progress",
        *extra,
    ]


@dataclass(frozen=True)
class ClinicUpload:
    """``radbridge upload`` as clinic A's staff against the in-thread gateway."""

    url: str
    token: str
    state: Path  # the resume state file every run of the test shares

    def argv(self, path: Path, *extra: str) -> list[str]:
        return upload_command(self.url, self.token, self.state, path, *extra)


@pytest.fixture
def clinic_upload(gateway_url: str, consortium: Consortium, tmp_path: Path) -> ClinicUpload:
    """The uploader command of clinic A's staff, with its own resume state file."""
    return ClinicUpload(gateway_url, token_for(consortium, "staff_a"), tmp_path / "s.json")


@pytest.fixture
def tus(gateway_url: str, consortium: Consortium) -> Tus:
    """A bare tus client signed in as clinic A's staff, against the in-thread gateway."""
    return Tus(gateway_url, token_for(consortium, "staff_a"))


@dataclass
class GatewayProcess:
    """The gateway as its own uvicorn process, which a test may kill and start again."""

    env: dict[str, str]
    port: int
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                PYTHON,
                "-m",
                "uvicorn",
                "gateway.api.app:create_app",
                "--factory",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=self.env,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError("the gateway process did not start within 30 s")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)


@pytest.fixture
def gateway_process(orthanc: OrthancHandle, use_database: Database) -> Iterator[GatewayProcess]:
    env = {
        **os.environ,
        "RADBRIDGE_DATABASE__URL": use_database.url,
        "RADBRIDGE_ORTHANC__URL": orthanc.http_url,
        "RADBRIDGE_ORTHANC__USERNAME": USERNAME,
        "RADBRIDGE_ORTHANC__PASSWORD": PASSWORD,
    }
    gateway = GatewayProcess(env=env, port=free_port())
    gateway.start()
    yield gateway
    gateway.kill()


def make_study(folder: Path, count: int, **tags: str) -> tuple[str, list[Path]]:
    """Write ``count`` slices of one new study (pydicom's CT_small with fresh UIDs)."""
    folder.mkdir(parents=True, exist_ok=True)
    source = pydicom.dcmread(get_testdata_file("CT_small.dcm"))  # type: ignore[arg-type]
    study_uid, series_uid = generate_uid(), generate_uid()
    paths = []
    for number in range(count):
        source.StudyInstanceUID = study_uid
        source.SeriesInstanceUID = series_uid
        source.SOPInstanceUID = generate_uid()
        source.file_meta.MediaStorageSOPInstanceUID = source.SOPInstanceUID
        source.InstanceNumber = number + 1
        for keyword, value in tags.items():
            setattr(source, keyword, value)
        path = folder / f"IM{number:04d}.dcm"
        source.save_as(path, enforce_file_format=True)
        paths.append(path)
    return study_uid, paths


def watcher(orthanc: OrthancHandle, db: Database) -> ChangeWatcher:
    return ChangeWatcher(orthanc.client, configured_routes(get_settings()), db.factory)


def registered(db: Database, study_uid: str) -> list[Study]:
    with db.factory() as session:
        return list(session.scalars(select(Study).where(Study.study_instance_uid == study_uid)))


def drain(orthanc: OrthancHandle, db: Database, study_uid: str, timeout: float) -> list[Study]:
    """Run the watcher for up to ``timeout`` s (StableAge is 1 s) or until the study is in."""
    feed = watcher(orthanc, db)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        feed.run_once()
        studies = registered(db, study_uid)
        if studies:
            return studies
        time.sleep(0.3)
    return []
