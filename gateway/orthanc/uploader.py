"""Store DICOM files into Orthanc over a small pool of keep-alive loopback connections.

The gateway's hot path (every STOW-RS part, every C-STORE of its SCP) is one ``POST
/instances``. Through ``requests`` it cost ~6 ms a 40 kB slice here, with ``http.client`` on a
kept-alive connection ~3.5 ms, which is most of what Orthanc itself needs. The pool also puts
the limits in front of Orthanc that 1.10.1 lacks: at most ``max_connections`` uploads at once
(a caller waits ``queue_timeout_s`` for a slot, then gets ``OrthancUnavailable``), and a read
timeout on every socket, so a hung Orthanc never holds a gateway thread for long.
"""

from __future__ import annotations

import base64
import http.client
import json
import queue
import threading
from urllib.parse import urlparse

from gateway.orthanc import _parse
from gateway.orthanc.errors import OrthancRejected, OrthancUnavailable
from gateway.orthanc.records import UploadResult


class InstanceUploader:
    """``POST /instances`` with pooled connections, a concurrency cap and timeouts."""

    def __init__(  # noqa: PLR0913 - each limit is its own knob
        self,
        url: str,
        username: str,
        password: str,
        *,
        max_connections: int = 16,
        read_timeout_s: float = 120.0,
        connect_timeout_s: float = 2.0,
        queue_timeout_s: float = 30.0,
    ) -> None:
        parsed = urlparse(url)
        if parsed.scheme != "http" or not parsed.hostname:
            raise ValueError(f"Orthanc must be reached over plain loopback HTTP, not {url!r}")
        self._host, self._port = parsed.hostname, parsed.port or 80
        token = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
        self._headers = {"Authorization": f"Basic {token}", "Content-Type": "application/dicom"}
        self._slots = threading.BoundedSemaphore(max_connections)
        self._idle: queue.LifoQueue[http.client.HTTPConnection] = queue.LifoQueue()
        self._read_timeout = read_timeout_s
        self._connect_timeout = connect_timeout_s
        self._queue_timeout = queue_timeout_s
        self.max_connections = max_connections

    def upload(self, data: bytes) -> UploadResult:
        """Store one DICOM file; raise ``OrthancRejected`` (4xx) or ``OrthancUnavailable``."""
        if not self._slots.acquire(timeout=self._queue_timeout):
            raise OrthancUnavailable(
                f"all {self.max_connections} connections to Orthanc are busy; retry later"
            )
        try:
            status, body = self._post(data)
        finally:
            self._slots.release()
        if status >= 500:
            raise OrthancUnavailable(f"{_message(body, status)} (instances)", orthanc_status=status)
        if status >= 400:
            raise OrthancRejected(f"{_message(body, status)} (instances)", orthanc_status=status)
        try:
            payload: object = json.loads(body)
        except ValueError as exc:
            raise OrthancUnavailable("Orthanc sent invalid JSON for an upload") from exc
        return _parse.upload_result(payload)

    def close(self) -> None:
        """Close every idle connection."""
        while True:
            try:
                self._idle.get_nowait().close()
            except queue.Empty:
                return

    def _post(self, data: bytes) -> tuple[int, bytes]:
        for attempt in (1, 2):  # a kept-alive connection Orthanc closed meanwhile: retry once
            try:
                connection = self._connection(fresh=attempt == 2)
            except OSError as exc:  # refused, or no answer within the connect timeout
                raise OrthancUnavailable(f"Orthanc unreachable: {type(exc).__name__}") from exc
            try:
                connection.request("POST", "/instances", body=data, headers=self._headers)
                response = connection.getresponse()
                body = response.read()
            except TimeoutError as exc:
                connection.close()
                raise OrthancUnavailable("Orthanc did not answer the upload in time") from exc
            except (ConnectionError, http.client.HTTPException, OSError) as exc:
                connection.close()
                if attempt == 2:
                    raise OrthancUnavailable(f"Orthanc unreachable: {type(exc).__name__}") from exc
                continue
            if response.will_close:
                connection.close()
            else:
                self._idle.put(connection)
            return response.status, body
        raise AssertionError("unreachable")  # pragma: no cover

    def _connection(self, *, fresh: bool) -> http.client.HTTPConnection:
        if not fresh:
            try:
                return self._idle.get_nowait()
            except queue.Empty:
                pass
        connection = http.client.HTTPConnection(
            self._host, self._port, timeout=self._connect_timeout
        )
        connection.connect()  # refused or slow connects fail within the connect timeout
        assert connection.sock is not None
        connection.sock.settimeout(self._read_timeout)
        return connection


def _message(body: bytes, status: int) -> str:
    """Return Orthanc's own explanation (``HttpDescribeErrors``), e.g. "Bad file format"."""
    try:
        described = json.loads(body)
    except ValueError:
        return f"HTTP {status}"
    if not isinstance(described, dict):
        return f"HTTP {status}"
    parts = [described.get("Message"), described.get("Details")]
    return ": ".join(str(p) for p in parts if p) or f"HTTP {status}"
