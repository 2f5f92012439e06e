"""Orthanc behind the gateway: hardened configuration and environment, bounded client.

The uploader is tested against a real socket server that stalls the way a saturated Orthanc
1.10.1 did here (55 half-sent uploads held all its HTTP threads for more than 45 s).
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from gateway.orthanc.config import OrthancConfig
from gateway.orthanc.errors import OrthancUnavailable
from gateway.orthanc.hardening import hardening_violations
from gateway.orthanc.process import _BASE_ENV
from gateway.orthanc.uploader import InstanceUploader
from tests.fixtures.orthanc import OrthancHandle


def _config(tmp_path: Path, **fields: object) -> OrthancConfig:
    base: dict[str, object] = {
        "state_dir": tmp_path,
        "http_port": 18042,
        "dicom_port": 14242,
        "username": "u",
        "password": "p",
        "check_modality_host": True,
    }
    return OrthancConfig(**{**base, **fields})  # type: ignore[arg-type]


def test_generated_configuration_is_locked_down(tmp_path: Path) -> None:
    config = _config(tmp_path, dicom_server_enabled=False).to_dict()

    assert hardening_violations(config) == []
    expected = {
        "RemoteAccessAllowed": False,
        "ExecuteLuaEnabled": False,
        "RestApiWriteToFileSystemEnabled": False,
        "DicomAlwaysAllowStore": False,
        "DicomAlwaysAllowEcho": False,
        "DicomCheckModalityHost": True,
        "DicomServerEnabled": False,  # the gateway's SCP takes the DICOM port
        "DeflatedTransferSyntaxAccepted": False,
        "WebDavEnabled": False,
        "OrthancExplorerEnabled": False,
        "TcpNoDelay": True,
    }
    assert {key: config[key] for key in expected} == expected
    assert config["LuaScripts"] == []


def test_unsafe_values_are_reported(tmp_path: Path) -> None:
    config = {**_config(tmp_path).to_dict(), "RemoteAccessAllowed": True, "ExecuteLuaEnabled": True}

    problems = hardening_violations(config)

    assert any("RemoteAccessAllowed" in p for p in problems)
    assert any("ExecuteLuaEnabled" in p for p in problems)


@pytest.mark.integration
def test_running_orthanc_has_tcp_nodelay_and_none_of_our_secrets(orthanc: OrthancHandle) -> None:
    pid = orthanc.process.pid
    assert pid is not None
    raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    environment = dict(item.decode().split("=", 1) for item in raw if b"=" in item)

    assert _BASE_ENV["TCP_NODELAY"] == "1"
    assert environment["TCP_NODELAY"] == "1"
    assert not [key for key in environment if key.startswith("RADBRIDGE_")]


@dataclass
class StallingServer:
    """Accepts connections, reads the request, then waits ``delay_s`` before answering."""

    delay_s: float
    port: int = 0
    peak: int = 0
    _active: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _stop: threading.Event = field(default_factory=threading.Event)

    def serve(self) -> Iterator[StallingServer]:
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        listener.settimeout(0.1)
        self.port = listener.getsockname()[1]
        thread = threading.Thread(target=self._accept, args=(listener,), daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            thread.join(5)
            listener.close()

    def _accept(self, listener: socket.socket) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        with self._lock:
            self._active += 1
            self.peak = max(self.peak, self._active)
        done = False
        try:
            conn.recv(65536)
            time.sleep(self.delay_s)
            body = json.dumps({"Status": "Success", "ID": "x", "ParentStudy": "y"}).encode()
            head = f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
            # The request ends when it is answered: count it out before the caller can see the
            # answer and send the next one (counting at close raced this thread's own exit).
            with self._lock:
                self._active -= 1
                done = True
            conn.sendall(head.encode() + body)
        except OSError:
            pass
        finally:
            if not done:
                with self._lock:
                    self._active -= 1
            conn.close()


@pytest.fixture
def stalled() -> Iterator[StallingServer]:
    yield from StallingServer(delay_s=30).serve()


@pytest.fixture
def slow() -> Iterator[StallingServer]:
    yield from StallingServer(delay_s=0.3).serve()


def test_a_hung_orthanc_times_out_instead_of_holding_the_caller(stalled: StallingServer) -> None:
    uploader = InstanceUploader(f"http://127.0.0.1:{stalled.port}", "u", "p", read_timeout_s=0.5)
    started = time.monotonic()

    with pytest.raises(OrthancUnavailable, match="in time"):
        uploader.upload(b"DICM")

    assert time.monotonic() - started < 3


def test_no_more_than_the_connection_limit_reaches_orthanc(slow: StallingServer) -> None:
    uploader = InstanceUploader(f"http://127.0.0.1:{slow.port}", "u", "p", max_connections=2)

    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(lambda _: uploader.upload(b"DICM"), range(6)))

    assert [r.status for r in results] == ["Success"] * 6
    assert slow.peak == 2


def test_waiting_for_a_slot_is_bounded_too(stalled: StallingServer) -> None:
    uploader = InstanceUploader(
        f"http://127.0.0.1:{stalled.port}",
        "u",
        "p",
        max_connections=1,
        queue_timeout_s=0.3,
        read_timeout_s=2,
    )
    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(uploader.upload, b"DICM")
        time.sleep(0.1)
        second = pool.submit(uploader.upload, b"DICM")
        with pytest.raises(OrthancUnavailable, match="busy"):
            second.result()
        with pytest.raises(OrthancUnavailable):
            first.result()
