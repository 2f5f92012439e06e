"""A private full stack for the pipeline benchmark, on the embedded defaults, in a temp folder.

Orthanc, Triton (the shipped models), a Celery worker with beat on the broker-less filesystem
transport, the change-feed watcher, the API and the gateway each run as ``python -m
services.cli`` subprocesses on fresh ports, exactly as ``radbridge up`` starts them; the database
is a SQLite file. The demo consortium is seeded and subscribed to the models through the real
``radbridge models add`` / ``subscribe`` commands, so routing goes through the model registry.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import yaml
from sqlalchemy.engine import Engine
from sqlalchemy.orm import sessionmaker

from services.auth.tokens import signing_key
from services.cli.launcher import Supervisor, radbridge_argv
from services.kit.db import make_engine, session_scope
from services.kit.migrate import upgrade
from services.kit.settings import CoreSettings
from services.tenant.seed import DEMO_TENANT, seed_demo

REPO = Path(__file__).resolve().parents[2]
SHIPPED_MODELS = REPO / "inference" / "models"
# No per-study CT model ships (nodule_vdt takes a reader's measurements, not pixels), so the
# image-quality model also takes CT here, as the embedded default route list does.
IMAGE_QUALITY_MODALITIES = ["CR", "DX", "DR", "RG", "CT"]


def _free_ports(count: int) -> list[int]:
    with ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]


@dataclass(frozen=True)
class PipelineStack:
    """Where the running stack answers, and the demo logins the benchmark uses."""

    root: Path
    api_url: str
    gateway_url: str
    engine: Engine
    passwords: dict[str, str]
    models: tuple[str, ...]

    def token(self, username: str) -> str:
        """Log in as a demo account through the API's OAuth2 password grant."""
        response = httpx.post(
            f"{self.api_url}/oauth/token",
            data={
                "grant_type": "password",
                "username": username,
                "password": self.passwords[username],
            },
            timeout=30,
        )
        response.raise_for_status()
        return str(response.json()["access_token"])


def _environment(root: Path) -> tuple[dict[str, str], dict[str, str]]:
    o_http, o_dicom, t_http, t_grpc, t_metrics, api, gateway = _free_ports(7)
    urls = {"api": f"http://127.0.0.1:{api}", "gateway": f"http://127.0.0.1:{gateway}"}
    env = {
        "RADBRIDGE_STATE_DIR": str(root / "state"),
        "RADBRIDGE_DATABASE__URL": f"sqlite:///{root / 'state' / 'radbridge.sqlite'}",
        "RADBRIDGE_STORAGE__BACKEND": "local",
        "RADBRIDGE_BROKER__URL": "",  # the embedded filesystem transport: no Redis
        "RADBRIDGE_ORTHANC__URL": f"http://127.0.0.1:{o_http}",
        "RADBRIDGE_ORTHANC__PASSWORD": uuid.uuid4().hex,
        "RADBRIDGE_ORTHANC__DICOM_PORT": str(o_dicom),
        "RADBRIDGE_GATEWAY__DICOM_SCP": "false",  # studies arrive by STOW-RS only
        "RADBRIDGE_TRITON__HTTP_URL": f"127.0.0.1:{t_http}",
        "RADBRIDGE_TRITON__GRPC_URL": f"127.0.0.1:{t_grpc}",
        "RADBRIDGE_TRITON__METRICS_PORT": str(t_metrics),
        "RADBRIDGE_TRITON__MODEL_REPOSITORY": str(root / "triton-models"),
        "RADBRIDGE_API__PORT": str(api),
        "RADBRIDGE_API__PUBLIC_URL": urls["api"],
        "RADBRIDGE_GATEWAY__PORT": str(gateway),
        "RADBRIDGE_GATEWAY__PUBLIC_URL": urls["gateway"],
        "RADBRIDGE_SETTINGS_FILE": "",
    }
    return env, urls


def _wait(name: str, ready: Callable[[], bool], supervisor: Supervisor, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if supervisor.dead():
            raise RuntimeError(f"{', '.join(supervisor.dead())} exited while starting {name}")
        try:
            if ready():
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{name} did not become ready in {timeout_s:.0f} s")


def _http_ok(url: str, auth: tuple[str, str] | None = None) -> Callable[[], bool]:
    return lambda: httpx.get(url, auth=auth, timeout=2).status_code == 200


def _image_quality_manifest(root: Path) -> Path:
    """Copy the shipped image-quality family, its manifest also matching CT."""
    family = root / "manifests" / "image_quality"
    shutil.copytree(SHIPPED_MODELS / "image_quality", family)
    manifest = family / "manifest.yaml"
    data = yaml.safe_load(manifest.read_text(encoding="utf-8"))
    data["match"]["modalities"] = IMAGE_QUALITY_MODALITIES
    manifest.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return manifest


def _chest_manifest(root: Path, onnx: Path) -> Path:
    """Copy the shipped chest-radiograph family with a site's exported ``model.onnx``."""
    family = root / "manifests" / "chest_xray_densenet"
    shutil.copytree(SHIPPED_MODELS / "chest_xray_densenet", family)
    shutil.copy(onnx, family / "triton" / "chest_xray_densenet" / "1" / "model.onnx")
    return family / "manifest.yaml"


def _run(argv: list[str], env: dict[str, str], log: Path) -> None:
    with log.open("ab") as out:
        done = subprocess.run(
            argv, env=env, stdout=out, stderr=subprocess.STDOUT, check=False, timeout=300
        )
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[3:])} failed; see {log}")


def _subscribe(root: Path, env: dict[str, str], chest_onnx: Path | None) -> tuple[str, ...]:
    manifests = {"image_quality": _image_quality_manifest(root)}
    if chest_onnx is not None:
        manifests["chest_xray_densenet"] = _chest_manifest(root, chest_onnx)
    log = root / "logs" / "models.log"
    for name, manifest in manifests.items():
        _run(radbridge_argv("models", "add", str(manifest)), env, log)
        _run(radbridge_argv("models", "subscribe", DEMO_TENANT, name), env, log)
    return tuple(manifests)


def _seed(database_url: str) -> tuple[Engine, dict[str, str]]:
    upgrade(database_url)
    engine = make_engine(database_url)
    with session_scope(sessionmaker(bind=engine, expire_on_commit=False)) as session:
        accounts = seed_demo(session)
    assert accounts is not None  # a fresh database
    return engine, {a.username: a.password for a in accounts}


@contextmanager
def pipeline_stack(
    *, chest_onnx: Path | None = None, echo: Callable[[str], None] = print
) -> Iterator[PipelineStack]:
    """Start the whole stack in a temp folder; stop it and remove the folder at the end.

    The folder (with every process's log) is kept when the block fails.
    """
    root = Path(tempfile.mkdtemp(prefix="rb-pipeline-"))
    env, urls = _environment(root)
    (root / "state").mkdir()
    # Made once before any process starts, as a deployment provisions it: processes racing to
    # create it on first use could sign with different keys.
    signing_key(CoreSettings(state_dir=root / "state"))
    engine, passwords = _seed(env["RADBRIDGE_DATABASE__URL"])
    supervisor = Supervisor(log_dir=root / "logs")
    failed = True
    try:
        orthanc_auth = ("radbridge", env["RADBRIDGE_ORTHANC__PASSWORD"])
        supervisor.start("orthanc", radbridge_argv("orthanc"), env)
        supervisor.start("triton", radbridge_argv("triton"), env)
        _wait(
            "Orthanc",
            _http_ok(f"{env['RADBRIDGE_ORTHANC__URL']}/system", orthanc_auth),
            supervisor,
            60,
        )
        triton_ready = f"http://{env['RADBRIDGE_TRITON__HTTP_URL']}/v2/health/ready"
        _wait("Triton", _http_ok(triton_ready), supervisor, 180)
        models = _subscribe(root, {**os.environ, **env}, chest_onnx)
        for name, args in (
            ("worker", ("worker", "--beat")),
            ("watcher", ("watch",)),
            ("api", ("api",)),
            ("gateway", ("gateway",)),
        ):
            supervisor.start(name, radbridge_argv(*args), env)
        _wait("API", _http_ok(f"{urls['api']}/healthz"), supervisor, 60)
        _wait("gateway", _http_ok(f"{urls['gateway']}/healthz"), supervisor, 60)
        echo(f"stack ready in {root} (models: {', '.join(models)})")
        yield PipelineStack(root, urls["api"], urls["gateway"], engine, passwords, models)
        failed = False
    finally:
        supervisor.stop()
        engine.dispose()
        if failed:
            echo(f"logs kept in {root / 'logs'}")
        else:
            shutil.rmtree(root, ignore_errors=True)
