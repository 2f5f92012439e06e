"""The senders of the ingest benchmark: each stores a list of files one way and times it.

* ``rest_direct``: ``POST /instances`` straight into Orthanc (the raw baseline of P1/P2).
* ``stow``: STOW-RS to the gateway, ``per_request`` instances a request, bearer token (P1/P2).
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
from typing import TypeVar

import httpx

T = TypeVar("T")

STORESCU = Path("/usr/bin/storescu")  # pynetdicom installs its own storescu in the venv
_DCMTK_ENV = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "TCP_NODELAY": "1"}


class SendFailed(RuntimeError):
    """A benchmark sender could not store every file: the figures would be meaningless."""


def _parallel(
    files: Sequence[T],
    clients: int,
    send: Callable[[httpx.Client, T], None],
    make_client: Callable[[], httpx.Client],
) -> float:
    shares = [files[i::clients] for i in range(clients)]

    def worker(share: Sequence[T]) -> None:
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


def stow(
    url: str, token: str, files: Sequence[bytes], *, clients: int, per_request: int = 1
) -> float:
    """Store ``files`` through the gateway's STOW-RS endpoint; return seconds.

    ``per_request`` instances go in each multipart request, as STOW-RS clients batch them
    (dicomweb-client sends a whole list in one request); 1 is the per-instance worst case.
    """
    boundary = uuid.uuid4().hex
    content_type = f'multipart/related; type="application/dicom"; boundary={boundary}'
    head = f"--{boundary}\r\nContent-Type: application/dicom\r\n\r\n".encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    between = f"\r\n--{boundary}\r\nContent-Type: application/dicom\r\n\r\n".encode()
    # Encoded before the clock starts, as the raw sender's files are: encoding a 15 MB
    # radiograph in the timed loop cost the clients' shared GIL more than the gateway's receive.
    bodies = [
        head + between.join(files[i : i + per_request]) + tail
        for i in range(0, len(files), per_request)
    ]

    def send(http: httpx.Client, body: bytes) -> None:
        answer = http.post(
            f"{url}/dicomweb/studies", content=body, headers={"Content-Type": content_type}
        )
        if answer.status_code != 200:
            raise SendFailed(f"the gateway answered {answer.status_code}: {answer.text[-400:]}")

    headers = {"Authorization": f"Bearer {token}"}
    return _parallel(bodies, clients, send, lambda: httpx.Client(headers=headers, timeout=120))


def storescu(
    port: int,
    calling: str,
    called: str,
    files: Sequence[bytes],
    *,
    settled: Callable[[int], None] | None = None,
) -> float:
    """Send ``files`` over one association with DCMTK; return seconds (files written first).

    ``settled(n)`` returns once the store holds ``n`` instances: the gateway's SCP answers
    before Orthanc has stored (store-and-forward), so its clock stops when Orthanc has all.
    """
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
        if settled is not None and result.returncode == 0:
            settled(len(files))
        elapsed = time.perf_counter() - started
    if result.returncode != 0 or "Store Failed" in result.stderr:
        raise SendFailed(f"storescu failed ({result.returncode}): {result.stderr[-300:]}")
    return elapsed
