"""A real Orthanc 1.10.1 for the gateway tests, plus DICOM files and DCMTK helpers."""

from __future__ import annotations

import hashlib
import itertools
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid

from gateway.orthanc import (
    Change,
    DicomNode,
    LocalOrthanc,
    OrthancClient,
    OrthancConfig,
)
from gateway.orthanc.process import ORTHANC_EXECUTABLE

# Absolute paths: pynetdicom puts its own `storescu`/`echoscu` into the virtualenv's bin/.
DCMTK_BIN = Path("/usr/bin")
STORESCU = DCMTK_BIN / "storescu"
ECHOSCU = DCMTK_BIN / "echoscu"
DCMTK_ENV = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "TCP_NODELAY": "1"}
USERNAME = "radbridge-test"
PASSWORD = "orthanc-test-secret"
STABLE_AGE_S = 1


def free_port() -> int:
    """Return a TCP port that was free a moment ago (all interfaces, like Orthanc binds)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("", 0))
        port: int = sock.getsockname()[1]
        return port


def make_config(state_dir: Path, **overrides: object) -> OrthancConfig:
    """Return a test configuration on fresh ports; ``overrides`` replace any field."""
    http_port = free_port()
    dicom_port = free_port()
    while dicom_port == http_port:
        dicom_port = free_port()
    fields: dict[str, object] = {
        "state_dir": state_dir,
        "http_port": http_port,
        "dicom_port": dicom_port,
        "username": USERNAME,
        "password": PASSWORD,
        "dicom_aet": "RADBRIDGE",
        "stable_age_s": STABLE_AGE_S,
        **overrides,
    }
    return OrthancConfig(**fields)  # type: ignore[arg-type]


@dataclass
class OrthancHandle:
    """The session Orthanc as tests see it."""

    process: LocalOrthanc
    client: OrthancClient
    startup_s: float

    @property
    def config(self) -> OrthancConfig:
        return self.process.config

    @property
    def http_url(self) -> str:
        return self.config.http_url

    @property
    def dicom_port(self) -> int:
        return self.config.dicom_port

    @property
    def aet(self) -> str:
        return self.config.dicom_aet


def require_orthanc() -> None:
    if not ORTHANC_EXECUTABLE.exists() or not STORESCU.exists():
        pytest.fail("Orthanc/DCMTK missing: run `bash infra/dev.sh setup` (Debian packages orthanc, orthanc-dicomweb, dcmtk)")


@pytest.fixture(scope="session")
def orthanc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OrthancHandle]:
    """Start one Orthanc for the session, with the production-like modality host check on."""
    require_orthanc()
    config = make_config(tmp_path_factory.mktemp("orthanc"), check_modality_host=True)
    process = LocalOrthanc(config)
    process.start()
    try:
        startup_s = process.wait_ready(timeout=20)
        client = OrthancClient(config.http_url, USERNAME, PASSWORD, timeout_s=5)
        yield OrthancHandle(process=process, client=client, startup_s=startup_s)
        client.close()
    finally:
        process.stop()


_node_numbers = itertools.count(1)


@pytest.fixture
def clinic_node(orthanc: OrthancHandle) -> Iterator[DicomNode]:
    """Register a fresh calling AE title from 127.0.0.1 for one test, then remove it."""
    number = next(_node_numbers)
    node = DicomNode(name=f"clinic-{number}", aet=f"CLINIC{number}", host="127.0.0.1", port=104)
    orthanc.client.set_modality(node.name, node.aet, node.host, node.port)
    yield node
    orthanc.client.delete_modality(node.name)


def orthanc_id(*parts: str) -> str:
    """Return Orthanc's id of a resource: SHA-1 of its ancestors' DICOM ids joined by '|'."""
    digest = hashlib.sha1("|".join(parts).encode()).hexdigest()  # Orthanc's id scheme
    return "-".join(digest[i : i + 8] for i in range(0, 40, 8))


def fresh_ct(folder: Path, **tags: str) -> tuple[Path, Dataset]:
    """Copy pydicom's CT_small.dcm with new UIDs (a new study) and optional tag values."""
    dataset = pydicom.dcmread(get_testdata_file("CT_small.dcm"))  # type: ignore[arg-type]
    dataset.StudyInstanceUID = generate_uid()
    dataset.SeriesInstanceUID = generate_uid()
    dataset.SOPInstanceUID = generate_uid()
    dataset.file_meta.MediaStorageSOPInstanceUID = dataset.SOPInstanceUID
    for keyword, value in tags.items():
        setattr(dataset, keyword, value)
    path = folder / f"{dataset.SOPInstanceUID}.dcm"
    dataset.save_as(path, enforce_file_format=True)
    return path, dataset


def study_id_of(dataset: Dataset) -> str:
    return orthanc_id(str(dataset.PatientID), str(dataset.StudyInstanceUID))


def instance_id_of(dataset: Dataset) -> str:
    return orthanc_id(
        str(dataset.PatientID),
        str(dataset.StudyInstanceUID),
        str(dataset.SeriesInstanceUID),
        str(dataset.SOPInstanceUID),
    )


def run_dcmtk(
    tool: Path, *args: str | int | Path, timeout: float = 30
) -> subprocess.CompletedProcess[str]:
    """Run a DCMTK tool with ``TCP_NODELAY=1`` and a bounded run time."""
    return subprocess.run(
        [str(tool), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=DCMTK_ENV,
        check=False,
    )


def storescu(
    orthanc: OrthancHandle, calling_aet: str, path: Path, called_aet: str = ""
) -> subprocess.CompletedProcess[str]:
    return run_dcmtk(
        STORESCU,
        "-aet",
        calling_aet,
        "-aec",
        called_aet or orthanc.aet,
        "127.0.0.1",
        orthanc.dicom_port,
        path,
    )


def wait_for_change(
    orthanc: OrthancHandle,
    since: int,
    wanted: Callable[[Change], bool],
    timeout: float = 15.0,
) -> tuple[Change | None, float]:
    """Poll the change feed until a change matches; return it (or None) and the time taken."""
    started = time.monotonic()
    cursor = since
    while time.monotonic() - started < timeout:
        page = orthanc.client.get_changes(since=cursor, limit=100)
        for change in page.changes:
            if wanted(change):
                return change, time.monotonic() - started
        cursor = page.last
        if page.done:
            time.sleep(0.05)
    return None, time.monotonic() - started


def last_seq(orthanc: OrthancHandle) -> int:
    """Return the current end of the change feed."""
    cursor = 0
    while True:
        page = orthanc.client.get_changes(since=cursor, limit=10_000)
        cursor = page.last
        if page.done:
            return cursor


def changes_since(orthanc: OrthancHandle, since: int) -> list[Change]:
    """Return every change after ``since`` up to the current end of the feed."""
    changes: list[Change] = []
    cursor = since
    while True:
        page = orthanc.client.get_changes(since=cursor, limit=1000)
        changes.extend(page.changes)
        cursor = page.last
        if page.done:
            return changes
