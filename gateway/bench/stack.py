"""A private stack for the ingest benchmark: Orthanc, database, gateway HTTP app and SCP.

Everything runs in a temporary folder on fresh ports, each server in its own process so its
CPU time can be read from ``/proc``. Orthanc's own DICOM port is on here (the raw C-STORE
baseline) with the benchmark's AE title registered, next to the gateway's SCP.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import httpx
from sqlalchemy.orm import sessionmaker

from gateway.orthanc.config import OrthancConfig
from gateway.orthanc.errors import OrthancStartError
from gateway.orthanc.process import LocalOrthanc
from gateway.orthanc.records import DicomNode
from services.auth.tokens import TokenClaims, issue_access_token
from services.domain.roles import Role
from services.kit.db import make_engine, session_scope
from services.kit.migrate import upgrade
from services.kit.settings import CoreSettings
from services.tenant import service as tenant_service

BENCH_AET = "BENCHMOD"
_START_ATTEMPTS = 3
_IN_USE = "already in use"  # how Orthanc, uvicorn and our SCP report a taken port
ORTHANC_AET = "RADBRIDGE"
_USER, _PASSWORD = "bench", uuid.uuid4().hex


class _PortTaken(RuntimeError):
    """A port found free was taken before a server of the stack could bind it."""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class BenchStack:
    """Start with ``with BenchStack() as stack:``; everything stops at the end of the block."""

    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="rb-bench-")))
    orthanc: LocalOrthanc | None = None
    gateway_url: str = ""
    scp_port: int = 0
    bare_scp_port: int = 0  # a pynetdicom SCP that only acknowledges (the C-STORE ceiling)
    token: str = ""
    gateway_workers: int = 1  # uvicorn worker processes of the gateway's HTTP app
    _children: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def orthanc_config(self) -> OrthancConfig:
        """Return the running Orthanc's configuration."""
        assert self.orthanc is not None
        return self.orthanc.config

    def pids(self, *names: str) -> list[int]:
        """Return the process ids of ``orthanc``, ``gateway``, ``scp`` and/or ``bare-scp``."""
        assert self.orthanc is not None
        assert self.orthanc.pid is not None
        found = {"orthanc": self.orthanc.pid, **{n: p.pid for n, p in self._children.items()}}
        return [found[name] for name in names]

    def __enter__(self) -> BenchStack:
        for attempt in range(1, _START_ATTEMPTS + 1):
            try:
                self._start()
            except _PortTaken:  # found free, taken before our server bound it: other ports
                self.close()
                if attempt == _START_ATTEMPTS:
                    raise
                self._children.clear()
                self.root = Path(tempfile.mkdtemp(prefix="rb-bench-"))
                continue
            except BaseException:
                self.close()
                raise
            return self
        raise AssertionError("unreachable")  # pragma: no cover

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
        if exc is None:  # keep the logs of a failed run; nothing else is worth keeping
            shutil.rmtree(self.root, ignore_errors=True)

    def close(self) -> None:
        """Stop the children and Orthanc."""
        for process in self._children.values():
            process.terminate()
        for process in self._children.values():
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
        if self.orthanc is not None:
            self.orthanc.stop()

    def _start(self) -> None:
        http_port, dicom_port = _free_port(), _free_port()
        config = OrthancConfig(
            state_dir=self.root / "orthanc",
            http_port=http_port,
            dicom_port=dicom_port,
            username=_USER,
            password=_PASSWORD,
            dicom_aet=ORTHANC_AET,
            stable_age_s=60,  # no stable-study work inside the measured window
            nodes=(DicomNode("bench", BENCH_AET, "127.0.0.1", 104),),
        )
        self.orthanc = LocalOrthanc(config)
        self.orthanc.start()
        try:
            self.orthanc.wait_ready(30)
        except OrthancStartError as exc:
            raise (_PortTaken(str(exc)) if _IN_USE in str(exc) else exc) from exc
        env = self._environment(config)
        settings = CoreSettings(state_dir=self.root / "state")
        database_url = f"sqlite:///{self.root / 'radbridge.db'}"
        upgrade(database_url)
        self.token = self._seed(settings, database_url)
        gateway_port, self.scp_port = _free_port(), _free_port()
        self.gateway_url = f"http://127.0.0.1:{gateway_port}"
        cli = [sys.executable, "-m", "services.cli", "gateway"]
        self._spawn("gateway", [*cli, "--host", "127.0.0.1", "--port", str(gateway_port)], env)
        self._spawn(
            "scp", [*cli, "dicom", "--host", "127.0.0.1", "--port", str(self.scp_port)], env
        )
        self.bare_scp_port = _free_port()
        bare = [sys.executable, "-m", "gateway.bench.bare_scp", str(self.bare_scp_port)]
        self._spawn("bare-scp", bare, env)
        self._wait(lambda: httpx.get(f"{self.gateway_url}/healthz").status_code == 200)
        # Their own word that they bound the port: another program may listen on it as well.
        self._wait(lambda: f"on 127.0.0.1:{self.scp_port} ->" in self._log("scp"))
        self._wait(lambda: f"listening on {self.bare_scp_port}" in self._log("bare-scp"))

    def _environment(self, config: OrthancConfig) -> dict[str, str]:
        return {
            **os.environ,
            "RADBRIDGE_STATE_DIR": str(self.root / "state"),
            "RADBRIDGE_DATABASE__URL": f"sqlite:///{self.root / 'radbridge.db'}",
            "RADBRIDGE_ORTHANC__URL": config.http_url,
            "RADBRIDGE_ORTHANC__USERNAME": _USER,
            "RADBRIDGE_ORTHANC__PASSWORD": _PASSWORD,
            "RADBRIDGE_ORTHANC__DICOM_AET": ORTHANC_AET,
            "RADBRIDGE_STORAGE__LOCAL_ROOT": str(self.root / "objects"),
            "RADBRIDGE_GATEWAY__WORKERS": str(self.gateway_workers),
        }

    def _seed(self, settings: CoreSettings, database_url: str) -> str:
        factory = sessionmaker(bind=make_engine(database_url), expire_on_commit=False)
        with session_scope(factory) as session:
            tenant = tenant_service.create_tenant(session, slug="bench", name="Benchmark")
            clinic = tenant_service.create_organization(
                session, tenant=tenant, code="clinic", name="Bench clinic", kind="clinic"
            )
            tenant_service.register_dicom_node(
                session, organization=clinic, ae_title=BENCH_AET, host="127.0.0.1", port=104
            )
            user = tenant_service.create_user(
                session,
                username="bench-uploader",
                password=uuid.uuid4().hex,
                display_name="Benchmark uploader",
                roles=[Role.CLINIC_STAFF],
                organization=clinic,
            )
            claims = TokenClaims(
                subject=str(user.id),
                kind="user",
                tenant_id=tenant.id,
                organization_id=clinic.id,
                roles=frozenset({Role.CLINIC_STAFF.value}),
                token_id=uuid.uuid4().hex,
            )
        return issue_access_token(settings, claims)[0]

    def _spawn(self, name: str, argv: list[str], env: dict[str, str]) -> None:
        log = (self.root / f"{name}.log").open("ab")
        self._children[name] = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env)

    def _log(self, name: str) -> str:
        return (self.root / f"{name}.log").read_text(errors="replace")

    def _wait(self, ready: Callable[[], bool], timeout_s: float = 30) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            dead = [n for n, p in self._children.items() if p.poll() is not None]
            if dead:
                logs = "".join(self._log(name) for name in dead)
                failure = _PortTaken if _IN_USE in logs else RuntimeError
                raise failure(f"{', '.join(dead)} exited; see the logs in {self.root}")
            try:
                if ready():
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"the benchmark stack did not start in {timeout_s:.0f} s ({self.root})")
