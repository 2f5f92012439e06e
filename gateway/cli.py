"""Gateway commands plugged into ``radbridge``.

The local Orthanc, the gateway app, the change-feed watcher, and loading the demo studies.
"""

from __future__ import annotations

import logging
import signal
import threading
from urllib.parse import urlparse

import typer
import uvicorn

from gateway.api.dependencies import orthanc_client
from gateway.bench.cli import add_bench_commands
from gateway.ingest.reconcile import reconcile_at_startup
from gateway.ingest.watcher import ChangeWatcher
from gateway.orthanc.aliases import node_alias
from gateway.orthanc.config import OrthancConfig
from gateway.orthanc.process import LocalOrthanc
from gateway.orthanc.records import DicomNode
from gateway.reconcile_cli import gateway_group
from gateway.scp.cli import dicom_scp
from gateway.upload.cli import upload as upload_command
from services.kit.db import session_scope
from services.kit.settings import get_settings
from services.study.routing import configured_routes
from services.tenant import service as tenant_service


def _stop_event() -> threading.Event:
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    return stop


def orthanc() -> None:
    """Run the local Orthanc (REST on loopback, DICOM open) until stopped."""
    settings = get_settings()
    o = settings.orthanc
    with session_scope() as session:
        nodes = tuple(
            DicomNode(node_alias(n.id), n.ae_title, n.host, n.port)
            for n in tenant_service.list_dicom_nodes(session)
        )
    config = OrthancConfig(
        state_dir=settings.state_dir / "orthanc",
        http_port=urlparse(o.url).port or 8042,
        dicom_port=o.dicom_port,
        username=o.username,
        password=o.password.get_secret_value(),
        dicom_aet=o.dicom_aet,
        stable_age_s=o.stable_age_s,
        nodes=nodes,
        dicom_server_enabled=not settings.gateway.dicom_scp,  # the gateway SCP takes the port
    )
    server = LocalOrthanc(config)
    stop = _stop_event()
    server.start()
    try:
        typer.echo(f"Orthanc ready in {server.wait_ready(timeout=30):.1f} s")
        while not stop.wait(1.0):
            if not server.is_running():
                typer.echo("Orthanc exited; see its log", err=True)
                raise typer.Exit(1)
    finally:
        server.stop()


def serve(host: str | None = None, port: int | None = None) -> None:
    """Serve the gateway's HTTP app (DICOMweb STOW-RS)."""
    settings = get_settings()
    uvicorn.run(
        "gateway.api.app:create_app",
        factory=True,
        host=host or settings.gateway.host,
        port=port or settings.gateway.port,
        workers=settings.gateway.workers,
        log_level="info",
    )


def watch() -> None:
    """Follow Orthanc's change feed and register every stable study."""
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    settings = get_settings()
    watcher = ChangeWatcher(
        client=orthanc_client(),
        routes=configured_routes(settings),
        poll_interval_s=settings.gateway.watch_interval_s,
    )
    reconcile_at_startup(watcher.client, settings)  # work a crash of everything left behind
    watcher.run(_stop_event())


def demo_load() -> None:
    """Send the demo studies: C-STORE from each demo clinic's AE title, over DICOM."""
    from gateway.demo import load_demo_studies

    load_demo_studies(get_settings())


def register(app: typer.Typer) -> None:
    """Add the gateway commands to the root CLI."""
    app.command("orthanc")(orthanc)
    group = gateway_group(serve)
    group.command("dicom")(dicom_scp)
    app.add_typer(group, name="gateway")
    add_bench_commands(app)
    app.command("watch")(watch)
    app.command("demo-load")(demo_load)
    app.command("upload")(upload_command)
