"""The senders of the ingest benchmark: each stores a list of files one way and times it.

* ``rest_direct``: ``POST /instances`` straight into Orthanc (the raw baseline of P1/P2).
* ``stow``: STOW-RS to the gateway, one instance a request, bearer token (P1/P2).
* ``storescu``: DCMTK over one association with ``TCP_NODELAY=1``, to Orthanc or to the
  gateway's SCP (P3).
"""

from __future__ import annotations

import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

STORESCU = Path("/usr/bin/storescu")  # pynetdicom installs its own storescu in the venv
_DCMTK_ENV = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "TCP_NODELAY": "1"}


class SendFailed(RuntimeError):
    """A benchmark sender could not store every file: the figures would be meaningless."""


def _parallel(
    files: Sequence[bytes],
    clients: int,
    send: Callable[[httpx.Client, bytes], None],
    make_client: Callable[[], httpx.Client],
) -> float:
    shares = [files[i::clients] for i in range(clients)]

    def worker(share: Sequence[bytes]) -> None:
        with make_client() as http:
            for data in share:
                send(http, data)

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        for future in [pool.submit(worker, share) for share in shares]:
            future.result()
    return time.perf_counter() - started


def rest_direct(url: str, auth: tuple[str, str], files: Sequence[bytes], clients: int) -> float:
    """Store ``files`` with ``clients`` parallel HTTP clients into Orthanc; return seconds."""

    def send(http: httpx.Client, data: bytes) -> None:
        answer = http.post(
            f"{url}/instances", content=data, headers={"Content-Type": "application/dicom"}
        )
        if answer.status_code != 200:
            raise SendFailed(f"Orthanc answered {answer.status_code}: {answer.text[:200]}")

    return _parallel(files, clients, send, lambda: httpx.Client(auth=auth, timeout=120))


def stow(url: str, token: str, files: Sequence[bytes], *, clients: int) -> float:
    """Store ``files`` through the gateway's STOW-RS endpoint; return seconds."""
    boundary = uuid.uuid4().hex
    content_type = f'multipart/related; type="application/dicom"; boundary={boundary}'
    head = f"--{boundary}\r\nContent-Type: application/dicom\r\n\r\n".encode()
    tail = f"\r\n--{boundary}--\r\n".encode()

    def send(http: httpx.Client, data: bytes) -> None:
        answer = http.post(
            f"{url}/dicomweb/studies",
            content=head + data + tail,
            headers={"Content-Type": content_type},
        )
        if answer.status_code != 200:
            raise SendFailed(f"the gateway answered {answer.status_code}: {answer.text[-400:]}")

    headers = {"Authorization": f"Bearer {token}"}
    return _parallel(files, clients, send, lambda: httpx.Client(headers=headers, timeout=120))


def storescu(port: int, calling: str, called: str, files: Sequence[bytes]) -> float:
    """Send ``files`` over one association with DCMTK; return seconds (files written first)."""
    with tempfile.TemporaryDirectory(prefix="rb-bench-") as folder:
        paths = []
        for number, data in enumerate(files):
            path = Path(folder) / f"{number:06d}.dcm"
            path.write_bytes(data)
            paths.append(str(path))
        argv = [str(STORESCU), "-aet", calling, "-aec", called, "127.0.0.1", str(port), *paths]
        started = time.perf_counter()
        result = subprocess.run(
            argv, capture_output=True, text=True, env=_DCMTK_ENV, check=False, timeout=600
        )
        elapsed = time.perf_counter() - started
    if result.returncode != 0 or "Store Failed" in result.stderr:
        raise SendFailed(f"storescu failed ({result.returncode}): {result.stderr[-300:]}")
    return elapsed
