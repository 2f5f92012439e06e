"""Real peers the delivery tests talk to: DCMTK storescp, MLLP listeners, HTTP, SMTP."""

from __future__ import annotations

import os
import shutil
import socket
import socketserver
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_for_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"storescp exited early with code {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"storescp did not listen on port {port} within {timeout} s")


@dataclass
class StoreScp:
    port: int
    ae_title: str
    folder: Path

    def received(self) -> list[Path]:
        return sorted(p for p in self.folder.rglob("*") if p.is_file())


@contextmanager
def storescp(folder: Path, ae_title: str = "CLINICPACS") -> Iterator[StoreScp]:
    """Run DCMTK's storescp on a free port, writing received objects into ``folder``."""
    binary = shutil.which("storescp")
    assert binary, "DCMTK storescp is missing: apt-get install -y dcmtk"
    port = free_port()
    folder.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen(
        [binary, "-aet", ae_title, "-od", str(folder), str(port)],
        env={**os.environ, "TCP_NODELAY": "1"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        _wait_for_port(port, proc)
        yield StoreScp(port, ae_title, folder)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@dataclass
class Mllp:
    port: int
    code: str
    messages: list[str] = field(default_factory=list)
    raw: list[bytes] = field(default_factory=list)


# HL7 table 0211 names -> Python codecs; MSH-1..MSH-18 are ASCII, so MSH-18 is read first.
CODECS = {"": "ascii", "UNICODE UTF-8": "utf-8", "GB 18030-2000": "gb18030"}
_NAMES = {"ascii": "", "utf-8": "UNICODE UTF-8", "gb18030": "GB 18030-2000"}


def declared_codec(raw: bytes) -> str:
    msh = raw.split(b"\r", 1)[0].decode("ascii").split("|")
    return CODECS[msh[17] if len(msh) > 17 else ""]


def _ack(message: str, code: str, codec: str = "utf-8") -> bytes:
    msh = next(line for line in message.split("\r") if line.startswith("MSH")).split("|")
    control_id = msh[9]
    text = "" if code == "AA" else "Patient not found in HIS / 患者未找到"
    segments = [
        f"MSH|^~\\&|HIS|{msh[5]}|{msh[2]}|{msh[3]}|20260101120000||ACK^R01^ACK|ACK{control_id[-8:]}|P|2.5.1||||||{_NAMES[codec]}",
        f"MSA|{code}|{control_id}|{text}",
    ]
    return b"\x0b" + "\r".join(segments).encode(codec) + b"\r\x1c\x0d"


@contextmanager
def mllp_listener(code: str = "AA", port: int | None = None) -> Iterator[Mllp]:
    """A small MLLP server answering every message with an ACK whose MSA-1 is ``code``.

    Each message is decoded in the character set its MSH-18 declares.
    """
    state = Mllp(port or free_port(), code)

    class Handler(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            data = b""
            while b"\x1c\x0d" not in data:
                chunk = self.request.recv(65536)
                if not chunk:
                    return
                data += chunk
            raw = data[data.index(b"\x0b") + 1 : data.index(b"\x1c\x0d")]
            codec = declared_codec(raw)
            message = raw.decode(codec)
            state.raw.append(raw)
            state.messages.append(message)
            self.request.sendall(_ack(message, code, codec))

    socketserver.ThreadingTCPServer.allow_reuse_address = True
    server = socketserver.ThreadingTCPServer(("127.0.0.1", state.port), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class HttpPeer:
    port: int
    status: int = 201
    requests: list[dict[str, Any]] = field(default_factory=list)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@contextmanager
def http_endpoint(status: int = 201) -> Iterator[HttpPeer]:
    """A local HTTP server recording every POST (path, headers, body) and answering ``status``."""
    peer = HttpPeer(free_port(), status)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            peer.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
            self.send_response(peer.status)
            if peer.status == 201:
                self.send_header("Location", f"{peer.base}/DiagnosticReport/42/_history/1")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", peer.port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield peer
    finally:
        server.shutdown()
        server.server_close()


class _Inbox:
    def __init__(self) -> None:
        self.envelopes: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.envelopes.append(envelope)
        return "250 2.0.0 Ok: queued as RB42"


@contextmanager
def smtp_server() -> Iterator[tuple[int, _Inbox]]:
    """A local SMTP server (aiosmtpd) keeping every envelope it receives."""
    inbox = _Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, inbox
    finally:
        controller.stop()
