"""Run a local Orthanc 1.10.1 as a child process (``radbridge up``, tests).

The child gets a small explicit environment rather than ours: ``TCP_NODELAY=1`` (DCMTK's
C-STORE was ~24x slower without it here), ``MALLOC_ARENA_MAX=5`` (bounded RSS), and none of
the ``RADBRIDGE_*`` secrets of the parent.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

import httpx

from gateway.orthanc.config import OrthancConfig
from gateway.orthanc.errors import OrthancStartError

ORTHANC_EXECUTABLE = Path("/usr/sbin/Orthanc")
_BASE_ENV = {
    "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
    "LANG": "C.UTF-8",
    "TCP_NODELAY": "1",
    "MALLOC_ARENA_MAX": "5",
}
_STARTED_LINE = b"Orthanc has started"
_POLL_S = 0.05


class LocalOrthanc:
    """An Orthanc process owned by this one: config in, log out, start/stop/restart.

    The configuration is written to ``<state_dir>/orthanc.json`` and the combined output is
    appended to ``<state_dir>/orthanc.log``.
    """

    def __init__(
        self,
        config: OrthancConfig,
        *,
        executable: Path = ORTHANC_EXECUTABLE,
        extra_env: Mapping[str, str] | None = None,
    ) -> None:
        self.config = config
        self.executable = executable
        self.config_path = config.state_dir / "orthanc.json"
        self.log_path = config.state_dir / "orthanc.log"
        self._env = {**_BASE_ENV, **(extra_env or {})}
        self._process: subprocess.Popen[bytes] | None = None
        self._log_offset = 0

    @property
    def pid(self) -> int | None:
        """Return the process id while running."""
        return self._process.pid if self.is_running() and self._process else None

    @property
    def http_url(self) -> str:
        """Return the loopback URL of the REST API."""
        return self.config.http_url

    def is_running(self) -> bool:
        """Return whether the child process is alive."""
        return self._process is not None and self._process.poll() is None

    def start(self) -> None:
        """Write the configuration and spawn Orthanc; call :meth:`wait_ready` next."""
        if self.is_running():
            raise RuntimeError("Orthanc is already running")
        if not self.executable.exists():
            raise OrthancStartError(f"{self.executable} not found (apt-get install orthanc)")
        self.config.write(self.config_path)
        with self.log_path.open("ab") as log:
            self._log_offset = log.tell()
            self._process = subprocess.Popen(
                [str(self.executable), str(self.config_path)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self._env,
                cwd=self.config.state_dir,
            )

    def wait_ready(self, timeout: float = 15.0) -> float:
        """Block until Orthanc serves ``/system`` with our credentials; return seconds waited.

        Raises ``OrthancStartError`` with the log tail if the process exits, the credentials
        are refused, or ``timeout`` passes (the process is then stopped).
        """
        started = time.monotonic()
        auth = (self.config.username, self.config.password)
        with httpx.Client(auth=auth, timeout=httpx.Timeout(1.0), trust_env=False) as http:
            while True:
                if not self.is_running():
                    raise self._failure("Orthanc exited during start-up")
                # Our own log line guards against a foreign Orthanc already on the port.
                if _STARTED_LINE in self._current_log() and self._answers(http):
                    return time.monotonic() - started
                if time.monotonic() - started > timeout:
                    error = self._failure(f"Orthanc not ready after {timeout:.0f} s")
                    self.stop()
                    raise error
                time.sleep(_POLL_S)

    def stop(self, timeout: float = 10.0) -> None:
        """Terminate Orthanc (it flushes its index), killing it after ``timeout`` seconds."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=timeout)

    def restart(self, timeout: float = 15.0) -> float:
        """Stop, start and wait; return the seconds from the stop request until ready again."""
        started = time.monotonic()
        self.stop()
        self.start()
        self.wait_ready(timeout)
        return time.monotonic() - started

    def log_tail(self, lines: int = 30) -> str:
        """Return the last lines Orthanc wrote since the latest start."""
        text = self._current_log().decode("utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def __enter__(self) -> LocalOrthanc:
        self.start()
        self.wait_ready()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _answers(self, http: httpx.Client) -> bool:
        try:
            response = http.get(f"{self.http_url}/system")
        except httpx.TransportError:
            return False
        if response.status_code in (401, 403):
            raise self._failure("Orthanc refused our credentials")
        return response.status_code == httpx.codes.OK

    def _current_log(self) -> bytes:
        try:
            with self.log_path.open("rb") as log:
                log.seek(self._log_offset)
                return log.read()
        except FileNotFoundError:
            return b""

    def _failure(self, what: str) -> OrthancStartError:
        code = self._process.poll() if self._process else None
        status = f" (exit code {code})" if code is not None else ""
        return OrthancStartError(f"{what}{status}; log {self.log_path}:\n{self.log_tail()}")
