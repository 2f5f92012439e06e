"""`radbridge up`: migrate, seed, start every process, load demo studies, print where things are."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import typer

from services.cli.demo import seed_and_report
from services.cli.launcher import Supervisor, radbridge_argv, stop_on_terminate
from services.kit.migrate import upgrade
from services.kit.settings import CoreSettings

REPO = Path(__file__).resolve().parents[2]


def _missing_prerequisites(settings: CoreSettings) -> list[str]:
    missing = [tool for tool in ("Orthanc", "storescu") if shutil.which(tool) is None]
    triton_env = settings.triton.env_dir or REPO / ".venv-triton"
    if settings.triton.manage_locally and not (triton_env / "bin" / "python").exists():
        missing.append("triton virtualenv")
    return missing


def _install(settings: CoreSettings) -> None:
    missing = _missing_prerequisites(settings)
    if not missing:
        return
    typer.echo(f"installing what is missing ({', '.join(missing)}) ...")
    subprocess.run(["bash", str(REPO / "infra" / "dev.sh"), "setup"], check=True)


def _wait(
    name: str, check: Callable[[], bool], supervisor: Supervisor, timeout_s: float = 90
) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if supervisor.dead():
            raise RuntimeError(f"{', '.join(supervisor.dead())} exited during start-up")
        try:
            if check():
                typer.echo(f"  {name} is ready")
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"{name} did not become ready in {timeout_s:.0f} s")


def _http_ok(url: str, auth: tuple[str, str] | None = None) -> Callable[[], bool]:
    return lambda: httpx.get(url, auth=auth, timeout=2).status_code == 200


def _tcp_open(port: int) -> Callable[[], bool]:
    def check() -> bool:
        with socket.socket() as sock:
            sock.settimeout(1)
            return sock.connect_ex(("127.0.0.1", port)) == 0

    return check


def _start_all(settings: CoreSettings, supervisor: Supervisor) -> None:
    o, t = settings.orthanc, settings.triton
    if o.manage_locally:
        supervisor.start("orthanc", radbridge_argv("orthanc"))
        auth = (o.username, o.password.get_secret_value())
        _wait("Orthanc", _http_ok(f"{o.url}/system", auth), supervisor)
    if t.manage_locally:
        supervisor.start("triton", radbridge_argv("triton"))
        _wait("Triton", _http_ok(f"http://{t.http_url}/v2/health/ready"), supervisor, 180)
    supervisor.start("worker", radbridge_argv("worker", "--beat"))
    supervisor.start("watcher", radbridge_argv("watch"))
    supervisor.start("api", radbridge_argv("api"))
    supervisor.start("gateway", radbridge_argv("gateway"))
    if settings.gateway.dicom_scp:  # modalities C-STORE to the gateway, never to Orthanc
        supervisor.start("dicom", radbridge_argv("gateway", "dicom"))
        _wait("DICOM SCP", _tcp_open(settings.orthanc.dicom_port), supervisor)
    _wait("API", _http_ok(f"{settings.api.public_url}/healthz"), supervisor)
    _wait("gateway", _http_ok(f"{settings.gateway_url}/healthz"), supervisor)


def _print_where(settings: CoreSettings) -> None:
    o = settings.orthanc
    typer.echo(
        "\nRadBridge is running:\n"
        f"  REST API + docs     {settings.api.public_url}/docs\n"
        f"  DICOMweb (STOW-RS)  {settings.gateway_url}/dicomweb/studies\n"
        f"  clinic upload page  {settings.gateway_url}/upload  (or: radbridge upload PATH)\n"
        f"  image viewer (OHIF) {settings.gateway_url}/viewer/viewer?StudyInstanceUIDs=<uid>\n"
        f"  DICOM C-STORE       port {o.dicom_port}, called AE {o.dicom_aet}"
        " (calling AE must be a registered clinic node)\n"
        f"  Orthanc REST        {o.url} (loopback only)\n"
        f"  Triton              grpc {settings.triton.grpc_url}, http {settings.triton.http_url}\n"
        f"  logs                {settings.state_dir / 'logs'}\n"
        "Press Ctrl-C to stop everything."
    )


def run_stack(settings: CoreSettings, *, load_demo: bool) -> int:
    """Run the local stack until Ctrl-C (or SIGTERM) or a process dies; return the exit code."""
    stop_on_terminate()
    _install(settings)
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.database_url)
    typer.echo(f"database ready ({settings.database_url.split('@')[-1]})")
    seed_and_report(settings)
    supervisor = Supervisor(log_dir=settings.state_dir / "logs")
    try:
        _start_all(settings, supervisor)
        if load_demo:
            subprocess.run(radbridge_argv("demo-load"), check=False)
        _print_where(settings)
        while not supervisor.dead():
            time.sleep(1)
        typer.echo(f"stopping: {', '.join(supervisor.dead())} exited (see the logs)", err=True)
        return 1
    except KeyboardInterrupt:
        typer.echo("\nstopping ...")
        return 0
    except RuntimeError as exc:
        typer.echo(f"start-up failed: {exc}. See {settings.state_dir / 'logs'}.", err=True)
        return 1
    finally:
        supervisor.stop()
