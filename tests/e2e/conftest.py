"""The whole stack as separate processes on real components.

Orthanc and Triton come from the session fixtures; the API, the gateway, the change-feed watcher
and a Celery worker (with beat) run as real subprocesses of ``python -m services.cli``. The
database is PostgreSQL and the broker Redis where they run on loopback (as in production),
otherwise SQLite and the filesystem transport (the embedded defaults).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import redis

from gateway.orthanc.aliases import node_alias
from inference.triton.server import LocalTriton
from services.kit.db import make_engine
from services.kit.migrate import upgrade
from tests.fixtures.consortium import PASSWORD, Consortium, build_consortium
from tests.fixtures.databases import (
    create_postgres_database,
    drop_postgres_database,
    postgres_available,
)
from tests.fixtures.live_server import free_port
from tests.fixtures.orthanc import PASSWORD as ORTHANC_PASSWORD
from tests.fixtures.orthanc import USERNAME as ORTHANC_USERNAME
from tests.fixtures.orthanc import OrthancHandle

REDIS_URL = "redis://127.0.0.1:6379/11"
AI_MODELS = [
    # RTPLAN is routed to the image model on purpose: a plan has no pixels, so its AI run fails
    # permanently, which is how the test shows a failed-AI study still reaching the worklist.
    {"name": "image_quality", "version": "1", "modalities": ["CR", "DX", "CT", "MR", "RTPLAN"]}
]


def _redis_available() -> bool:
    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_timeout=2).ping())
    except redis.RedisError:
        return False


@dataclass
class Stack:
    """Where the running stack answers, and who may log in."""

    api_url: str
    gateway_url: str
    consortium: Consortium
    orthanc: OrthancHandle
    database_url: str
    broker: str
    logs: Path
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def token(self, key: str) -> str:
        response = httpx.post(
            f"{self.api_url}/oauth/token",
            data={
                "grant_type": "password",
                "username": self.consortium.username(key),
                "password": PASSWORD,
            },
        )
        response.raise_for_status()
        return str(response.json()["access_token"])

    def log_tail(self) -> str:
        return "\n".join(
            f"--- {p.name} ---\n" + "\n".join(p.read_text(errors="replace").splitlines()[-25:])
            for p in sorted(self.logs.glob("*.log"))
        )


def _wait_http(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout} s")


SERVICES_AVAILABLE = postgres_available() and _redis_available()
# The embedded defaults always; PostgreSQL + Redis too where they run (as in production).
STACK_KINDS = ["embedded", "postgres-redis"] if SERVICES_AVAILABLE else ["embedded"]


@pytest.fixture(scope="module", params=STACK_KINDS)
def stack(
    request: pytest.FixtureRequest,
    orthanc: OrthancHandle,
    triton_server: LocalTriton,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Stack]:
    state = tmp_path_factory.mktemp("stack")
    use_pg = request.param == "postgres-redis"
    database_url = (
        create_postgres_database() if use_pg else f"sqlite:///{state / 'radbridge.sqlite'}"
    )
    broker = REDIS_URL if use_pg else ""
    if broker:
        redis.Redis.from_url(REDIS_URL).flushdb()
    upgrade(database_url)
    engine = make_engine(database_url)
    with engine.begin() as conn:
        from sqlalchemy.orm import Session

        with Session(bind=conn) as session:
            consortium = build_consortium(session)
            session.flush()
            session.expunge_all()
    engine.dispose()
    for node in (consortium.node_a, consortium.node_b):
        orthanc.client.set_modality(node_alias(node.id), node.ae_title, node.host, node.port)

    api_port, gateway_port = free_port(), free_port()
    env = {
        **os.environ,
        "RADBRIDGE_STATE_DIR": str(state),
        "RADBRIDGE_DATABASE__URL": database_url,
        "RADBRIDGE_BROKER__URL": broker,
        "RADBRIDGE_ORTHANC__URL": orthanc.http_url,
        "RADBRIDGE_ORTHANC__USERNAME": ORTHANC_USERNAME,
        "RADBRIDGE_ORTHANC__PASSWORD": ORTHANC_PASSWORD,
        "RADBRIDGE_ORTHANC__DICOM_PORT": str(orthanc.dicom_port),
        "RADBRIDGE_TRITON__GRPC_URL": triton_server.grpc_url.removeprefix("grpc://").removeprefix(
            "http://"
        ),
        "RADBRIDGE_TRITON__HTTP_URL": triton_server.http_url.removeprefix("http://"),
        "RADBRIDGE_API__PORT": str(api_port),
        "RADBRIDGE_API__PUBLIC_URL": f"http://127.0.0.1:{api_port}",
        "RADBRIDGE_GATEWAY__PORT": str(gateway_port),
        "RADBRIDGE_GATEWAY__PUBLIC_URL": f"http://127.0.0.1:{gateway_port}",
        "RADBRIDGE_GATEWAY__WATCH_INTERVAL_S": "0.3",
        "RADBRIDGE_AI_MODELS": json.dumps(AI_MODELS),
        "RADBRIDGE_JOB_LEASE_S": "20",
    }
    logs = state / "logs"
    logs.mkdir()
    running = Stack(
        api_url=f"http://127.0.0.1:{api_port}",
        gateway_url=f"http://127.0.0.1:{gateway_port}",
        consortium=consortium,
        orthanc=orthanc,
        database_url=database_url,
        broker=broker or "filesystem",
        logs=logs,
    )
    commands = {
        "api": ["api"],
        "gateway": ["gateway"],
        "watcher": ["watch"],
        "worker": ["worker", "--beat", "--concurrency", "1"],
    }
    try:
        for name, args in commands.items():
            log = (logs / f"{name}.log").open("wb")
            running.processes[name] = subprocess.Popen(
                [sys.executable, "-m", "services.cli", *args],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        _wait_http(f"{running.api_url}/healthz")
        _wait_http(f"{running.gateway_url}/healthz")
        yield running
    finally:
        for process in running.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, 15)
        for process in running.processes.values():
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, 9)
        for node in (consortium.node_a, consortium.node_b):
            orthanc.client.delete_modality(node_alias(node.id))
        if use_pg:
            drop_postgres_database(database_url)
