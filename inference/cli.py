"""Inference commands plugged into ``radbridge``: run a local Triton for the embedded stack."""

from __future__ import annotations

import signal
import threading

import typer

from inference.models.repository import build_model_repository
from inference.triton.server import LocalTriton, TritonPorts
from services.kit.settings import get_settings


def _port(hostport: str) -> int:
    return int(hostport.rsplit(":", 1)[1])


def triton() -> None:
    """Run a local Triton serving the shipped reference models until stopped."""
    settings = get_settings()
    t = settings.triton
    workdir = settings.state_dir / "triton"
    repository = build_model_repository(t.model_repository or workdir / "models")
    ports = TritonPorts(http=_port(t.http_url), grpc=_port(t.grpc_url), metrics=t.metrics_port)
    server = LocalTriton(repository, workdir, ports=ports, env_dir=t.env_dir)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    server.start()
    try:
        seconds = server.wait_ready(timeout=180)
        typer.echo(f"Triton ready in {seconds:.1f} s, models from {repository}")
        failures = 0
        while not stop.wait(2.0):
            failures = 0 if server.is_ready() else failures + 1
            if failures >= 5:
                typer.echo("Triton stopped answering; see its log", err=True)
                raise typer.Exit(1)
    finally:
        server.stop()


def register(app: typer.Typer) -> None:
    """Add the inference commands to the root CLI."""
    app.command("triton")(triton)
