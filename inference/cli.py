"""Inference commands plugged into ``radbridge``: local Triton, DenseNet export, benchmarks."""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from typing import Annotated

import typer

from inference.models.repository import build_model_repository
from inference.registry.cli import app as models_app
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
    server = LocalTriton(
        repository, workdir, ports=ports, env_dir=t.env_dir, explicit_model_control=True
    )
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


def export_densenet(
    weights: Annotated[Path, typer.Argument(help=".npz, .pt or .pth DenseNet-121 weights")],
    out: Annotated[Path, typer.Argument(help="the .onnx file to write")],
) -> None:
    """Export TorchXRayVision-format DenseNet-121 weights (a local file) to ONNX."""
    from inference.models.densenet_export import export_densenet as export
    from inference.models.densenet_onnx import WeightsError

    try:
        written = export(weights, out)
    except WeightsError as error:
        typer.echo(f"{error} Pass a local DenseNet-121 state dict (.npz, .pt or .pth).", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"wrote {written} ({written.stat().st_size / 1e6:.1f} MB)")


def bench_inference(
    concurrency: Annotated[int, typer.Option(help="parallel clients")] = 16,
    requests_each: Annotated[int, typer.Option(help="requests per client")] = 40,
    ports: Annotated[str, typer.Option(help="HTTP,gRPC,metrics ports")] = "8110,8111,8112",
) -> None:
    """Start a local Triton and measure dynamic batching on the benchmark models (P6)."""
    from inference.triton import bench

    bench.main(
        ["--concurrency", str(concurrency), "--requests-each", str(requests_each), "--ports", ports]
    )


def _bench_group(app: typer.Typer) -> typer.Typer:
    """Return the root ``bench`` group, adding it if the core CLI has none."""
    for group in app.registered_groups:
        if group.name == "bench" and isinstance(group.typer_instance, typer.Typer):
            return group.typer_instance
    bench_app = typer.Typer(help="Measure the platform.")
    app.add_typer(bench_app, name="bench")
    return bench_app


def register(app: typer.Typer) -> None:
    """Add the inference commands to the root CLI."""
    app.command("triton")(triton)
    models_app.command("export-densenet")(export_densenet)
    app.add_typer(models_app, name="models")
    _bench_group(app).command("inference")(bench_inference)
