"""Four clients uploading by STOW while Orthanc is killed and restarted (QUALITY.md F5).

The load side of ``test_restarts``: the planned uploads, the clients, and the kill in the middle.
"""

from __future__ import annotations

import io
import os
import signal
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pydicom
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid

from gateway.api.app import create_app
from gateway.api.dependencies import object_store, orthanc_client
from services.kit.storage import LocalDiskStore
from tests.fixtures.live_server import live_server
from tests.fixtures.orthanc import OrthancHandle, fresh_ct
from tests.gateway.housekeeping.conftest import World, bearer


@dataclass
class Uploads:
    """The instances 4 clients send, and which of them the gateway acknowledged."""

    parts: list[list[Dataset]]
    acked: set[str] = field(default_factory=set)
    refused: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def plan(tmp_path: Path, clients: int, studies_per_client: int, per_study: int) -> Uploads:
    plan: list[list[Dataset]] = []
    for _ in range(clients):
        mine: list[Dataset] = []
        for _ in range(studies_per_client):
            _, first = fresh_ct(tmp_path)
            for _ in range(per_study):
                ds = pydicom.dcmread(io.BytesIO(_bytes(first)))
                ds.SOPInstanceUID = generate_uid()
                ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
                mine.append(ds)
        plan.append(mine)
    return Uploads(plan)


def _bytes(ds: Dataset) -> bytes:
    out = io.BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()


def stow(url: str, token: dict[str, str], ds: Dataset) -> int:
    boundary = uuid.uuid4().hex
    body = (
        f"--{boundary}\r\nContent-Type: application/dicom\r\n\r\n".encode()
        + _bytes(ds)
        + f"\r\n--{boundary}--\r\n".encode()
    )
    ctype = f'multipart/related; type="application/dicom"; boundary={boundary}'
    try:
        response = httpx.post(
            f"{url}/dicomweb/studies",
            content=body,
            headers={**token, "Content-Type": ctype},
            timeout=30,
        )
    except httpx.HTTPError:
        return 0
    return response.status_code


def _client(url: str, token: dict[str, str], uploads: Uploads, mine: list[Dataset]) -> None:
    """Send each instance until it is acknowledged (200), retrying like a clinic's uploader."""
    for ds in mine:
        deadline = time.monotonic() + 60
        while stow(url, token, ds) != 200:
            with uploads.lock:
                uploads.refused += 1
            assert time.monotonic() < deadline, "an instance was never acknowledged"
            time.sleep(0.2)
        with uploads.lock:
            uploads.acked.add(str(ds.SOPInstanceUID))


def sop_uids(orthanc: OrthancHandle) -> set[str]:
    return {
        uid
        for study in orthanc.client.list_study_ids()
        for uid in orthanc.client.study_sop_instance_uids(study)
    }


def ingest_through_a_kill(world: World, uploads: Uploads, tmp_path: Path) -> int:
    """Run 4 STOW clients through the gateway, kill -9 Orthanc mid-way and restart it.

    Returns how many instances were acknowledged when Orthanc was killed.
    """
    app = create_app()
    app.dependency_overrides[orthanc_client] = lambda: world.orthanc.client
    app.dependency_overrides[object_store] = lambda: LocalDiskStore(tmp_path / "objects")
    token = bearer(world.consortium.users["staff_a"])
    total = sum(len(p) for p in uploads.parts)
    with live_server(app) as url:
        clients = [
            threading.Thread(target=_client, args=(url, token, uploads, mine))
            for mine in uploads.parts
        ]
        for thread in clients:
            thread.start()
        while len(uploads.acked) < total // 4:
            time.sleep(0.01)
        pid = world.orthanc.process.pid
        assert pid is not None
        os.kill(pid, signal.SIGKILL)  # mid-ingest, with 4 clients sending
        acked_at_kill = len(uploads.acked)
        world.orthanc.process.stop()
        time.sleep(0.5)
        world.orthanc.process.start()
        world.orthanc.process.wait_ready(timeout=20)
        for thread in clients:
            thread.join(timeout=120)
    return acked_at_kill
