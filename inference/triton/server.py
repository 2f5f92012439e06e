"""Run a local Triton Inference Server from the ``nvidia-pytriton`` wheel.

Production uses NVIDIA's own Triton container; the local stack and the tests run the same
``tritonserver`` binary, from the separate triton virtualenv (see ``_install``).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import astuple, dataclass
from pathlib import Path
from types import TracebackType

from inference.triton._install import (
    SETUP_HINT,
    TritonInstall,
    TritonStartError,
    default_env_dir,
    locate_install,
    prepare_backends,
    server_environment,
)

# The local server must never be reachable from the network: bind every endpoint to loopback.
_LOOPBACK = "127.0.0.1"
_EXIT_TIMEOUT_S = 5


@dataclass(frozen=True)
class TritonPorts:
    """The three loopback ports a Triton server listens on."""

    http: int = 8100
    grpc: int = 8101
    metrics: int = 8102


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # Like tritonserver itself: a port left in TIME_WAIT by a stopped server is free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((_LOOPBACK, port))
        except OSError:
            return False
    return True


def _log_tail(log_file: Path, lines: int = 30) -> str:
    try:
        text = log_file.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "(no log written)"
    return "\n".join(text.splitlines()[-lines:]) or "(log is empty)"


class LocalTriton:
    """One ``tritonserver`` process serving ``model_repository`` on loopback ports.

    Use as a context manager (start, wait until ready, stop on exit) or call ``start``,
    ``wait_ready`` and ``stop`` yourself. Everything the server writes goes to ``log_file``
    (default ``workdir/tritonserver.log``).
    """

    def __init__(
        self,
        model_repository: Path,
        workdir: Path,
        *,
        ports: TritonPorts | None = None,
        env_dir: Path | None = None,
        log_file: Path | None = None,
        explicit_model_control: bool = False,
    ) -> None:
        self.model_repository = model_repository
        # Explicit model control: every model is loaded at start, and `radbridge models add`
        # can load or reload one later through the repository API without a restart.
        self.explicit_model_control = explicit_model_control
        self.workdir = workdir
        self.ports = ports or TritonPorts()
        self.env_dir = env_dir or default_env_dir()
        self.log_file = log_file or workdir / "tritonserver.log"
        self._process: subprocess.Popen[bytes] | None = None
        self._started_at = 0.0
        self.startup_seconds: float | None = None  # set by wait_ready
        # Python-backend shared-memory regions are named by this prefix; unique per server so
        # two servers on one machine (local stack + tests) never share a region.
        self._shm_prefix = f"radbridge_{os.getpid()}_{self.ports.grpc}_"

    @property
    def http_url(self) -> str:
        """Return ``host:port`` of the HTTP/REST endpoint."""
        return f"{_LOOPBACK}:{self.ports.http}"

    @property
    def grpc_url(self) -> str:
        """Return ``host:port`` of the gRPC endpoint."""
        return f"{_LOOPBACK}:{self.ports.grpc}"

    @property
    def pid(self) -> int | None:
        """Return the server's process id while it runs (also its process group id)."""
        process = self._process
        return process.pid if process is not None and process.poll() is None else None

    def command(self, backends: Path) -> list[str]:
        """Return the ``tritonserver`` command line."""
        install = locate_install(self.env_dir)
        return [
            str(install.binary),
            f"--model-repository={self.model_repository}",
            f"--backend-directory={backends}",
            f"--http-address={_LOOPBACK}",
            f"--http-port={self.ports.http}",
            f"--grpc-address={_LOOPBACK}",
            f"--grpc-port={self.ports.grpc}",
            f"--metrics-address={_LOOPBACK}",
            f"--metrics-port={self.ports.metrics}",
            f"--backend-config=python,shm-region-prefix-name={self._shm_prefix}",
            "--exit-on-error=true",
            # On SIGTERM Triton waits for in-flight requests AND idle keep-alive HTTP clients;
            # the default 30 s would make every local stop wait for a forgotten client.
            f"--exit-timeout-secs={_EXIT_TIMEOUT_S}",
            "--strict-readiness=true",
            "--log-verbose=0",
            *(
                ["--model-control-mode=explicit", "--load-model=*"]
                if self.explicit_model_control
                else []
            ),
        ]

    def start(self) -> None:
        """Start the server in the background; return at once (see ``wait_ready``).

        Raises
        ------
        TritonStartError
            If it is already running, the repository is missing or a port is taken.
        """
        if self._process is not None and self._process.poll() is None:
            raise TritonStartError("This Triton server is already running.")
        if not self.model_repository.is_dir():
            raise TritonStartError(f"Model repository {self.model_repository} does not exist.")
        busy = [port for port in astuple(self.ports) if not _port_is_free(port)]
        if busy:
            raise TritonStartError(
                f"Port(s) {busy} on {_LOOPBACK} are already in use: stop the other server or "
                "choose other ports."
            )
        self.workdir.mkdir(parents=True, exist_ok=True)
        backends = prepare_backends(self.env_dir, self.workdir)
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        with self.log_file.open("wb") as log:
            self._started_at = time.monotonic()
            self._process = subprocess.Popen(
                self.command(backends),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=server_environment(self.env_dir),
                cwd=self.workdir,
                start_new_session=True,  # its own process group: stop() can reap the stubs too
            )

    def is_ready(self) -> bool:
        """Return whether the server answers ready (all models loaded)."""
        url = f"http://{self.http_url}/v2/health/ready"
        try:
            with urllib.request.urlopen(url, timeout=1.0) as answer:
                return bool(answer.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def wait_ready(self, timeout: float = 60.0) -> float:
        """Block until the server is ready and return the seconds since ``start``.

        Raises
        ------
        TritonStartError
            If the server exits or is not ready within ``timeout`` seconds; the message holds
            the end of its log.
        """
        if self._process is None:
            raise TritonStartError("Call start() before wait_ready().")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise self._failure(f"tritonserver exited with code {self._process.returncode}")
            if self.is_ready():
                self.startup_seconds = time.monotonic() - self._started_at
                return self.startup_seconds
            time.sleep(0.1)
        self.stop()
        raise self._failure(f"tritonserver was not ready within {timeout:.0f} s")

    def _failure(self, what: str) -> TritonStartError:
        return TritonStartError(
            f"{what}.\n--- last lines of {self.log_file} ---\n{_log_tail(self.log_file)}\n---\n"
            "Next: read the whole log; check the model repository "
            f"{self.model_repository} (config.pbtxt and 1/model.py per model); if the Triton "
            f"virtualenv {self.env_dir} is broken, {SETUP_HINT}."
        )

    def stop(self, grace: float = _EXIT_TIMEOUT_S + 5.0) -> None:
        """Ask the server to stop (SIGTERM), kill its process group after ``grace`` seconds."""
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=grace)
        # Stubs left by a killed server: same process group, started by us.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        for region in Path("/dev/shm").glob(f"{self._shm_prefix}*"):
            region.unlink(missing_ok=True)

    def __enter__(self) -> LocalTriton:
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


__all__ = [
    "LocalTriton",
    "TritonInstall",
    "TritonPorts",
    "TritonStartError",
    "default_env_dir",
    "locate_install",
    "prepare_backends",
    "server_environment",
]
