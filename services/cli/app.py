"""The ``radbridge`` command: one entry point for every process and admin task.

Commands of the gateway and inference packages are plugged in through the ``radbridge.cli``
entry-point group, so the core package never imports them.
"""

from __future__ import annotations

import logging
import os
import sys
from importlib.metadata import entry_points
from pathlib import Path

import typer
import uvicorn

from services.kit.settings import get_settings

app = typer.Typer(help="RadBridge: regional imaging diagnosis platform.", no_args_is_help=True)


def _logging() -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )


@app.command()
def migrate() -> None:
    """Apply database migrations up to the newest schema."""
    from services.kit.migrate import upgrade

    settings = get_settings()
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.database_url)
    typer.echo(f"database is up to date: {settings.database_url.split('@')[-1]}")


@app.command("seed-demo")
def seed_demo() -> None:
    """Create the demo consortium and print its logins (once; later runs change nothing)."""
    from services.cli.demo import seed_and_report

    seed_and_report(get_settings())


@app.command()
def api(host: str | None = None, port: int | None = None) -> None:
    """Serve the REST API."""
    _logging()
    settings = get_settings()
    uvicorn.run(
        "services.api.app:create_app",
        factory=True,
        host=host or settings.api.host,
        port=port or settings.api.port,
        log_level="info",
    )


@app.command()
def worker(
    queues: str = "inference,default,delivery", beat: bool = False, concurrency: int = 2
) -> None:
    """Run a Celery worker (with ``--beat`` also the periodic sweeper)."""
    argv = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "inference.worker",
        "worker",
        "-Q",
        queues,
        "--concurrency",
        str(concurrency),
        "--loglevel",
        "INFO",
    ]
    if beat:
        beat_file = get_settings().state_dir / "celerybeat-schedule"
        argv += ["--beat", "--schedule", str(beat_file)]
    os.execv(sys.executable, argv)


@app.command()
def up(demo: bool = True) -> None:
    """Run the whole stack locally on embedded defaults, with demo data; Ctrl-C stops it."""
    from services.cli.stack import run_stack

    raise typer.Exit(run_stack(get_settings(), load_demo=demo))


def _add_groups() -> None:
    from services.cli.report import report_app
    from services.cli.signing import signing_app

    app.add_typer(report_app, name="report")
    app.add_typer(signing_app, name="signing")


bench = typer.Typer(help="Measure the platform at scale (never run in tests at full size).")
app.add_typer(bench, name="bench")


@bench.command("worklist")
def bench_worklist(
    server_url: str = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
    studies: int = 1_000_000,
    tenants: int = 200,
    open_items: int = 50_000,
    requests: int = 1000,
    keep: bool = False,
) -> None:
    """Seed a new PostgreSQL database at regional scale and measure the worklist API."""
    from services.cli import bench_worklist as wb

    url = wb.create_database(server_url)
    try:
        result = wb.run_bench(
            url, studies=studies, tenants=tenants, open_items=open_items, requests=requests
        )
        wb.report(result, echo=typer.echo)
    finally:
        if not keep:
            wb.drop_database(url)


@bench.command("report-pdf")
def bench_report_pdf(runs: int = 15) -> None:
    """Render and sign a two-page Chinese report with one key image; print medians."""
    from services.cli import bench_report

    result = bench_report.run(runs)
    verdict = "ok" if result.total_ms <= result.target_ms else "OVER TARGET"
    typer.echo(
        f"signed {result.pages}-page report + key image, median of {result.runs}: "
        f"{result.total_ms:.0f} ms (render {result.render_ms:.0f} + sign {result.sign_ms:.0f}); "
        f"target <= {result.target_ms:.0f} ms: {verdict}"
    )
    typer.echo(
        f"countersigned (双签, two signatures) median: {result.countersigned_ms:.0f} ms "
        f"(second signature {result.countersign_ms:.0f})"
    )
    typer.echo(f"baseline one-page render {result.baseline_ms:.0f} ms; ratio {result.ratio:.1f}x")


@bench.command("pipeline")
def bench_pipeline(
    studies: int = typer.Option(0, min=0, help="Studies to send (0: as many as --duration)."),
    duration: float = typer.Option(600.0, min=1, help="Seconds of load when --studies is 0."),
    per_hour: float = typer.Option(180.0, min=1, help="Arrival rate (default 2 x peak 90/h)."),
    ct_slices: str = typer.Option("100,300", help="CT series size range, MIN,MAX slices."),
    cr_side: int = typer.Option(2048, min=64, help="Radiograph side in pixels."),
    chest_onnx: Path | None = typer.Option(None, help="model.onnx to serve the chest model."),
) -> None:
    """Start a private full stack; time upload complete -> AI result on the worklist (P8)."""
    from services.cli import bench_pipeline as bp

    low, high = (int(x) for x in ct_slices.split(","))
    count = studies or max(1, int(duration * per_hour / 3600))
    plan = bp.LoadPlan(studies=count, per_hour=per_hour, ct_slices=(low, high), cr_side=cr_side)
    bp.report(bp.run_bench(plan, chest_onnx=chest_onnx, echo=typer.echo), plan, echo=typer.echo)


def _plug_in() -> None:
    for entry in entry_points(group="radbridge.cli"):
        register = entry.load()
        register(app)


def main() -> None:
    """Run the CLI."""
    _add_groups()
    _plug_in()
    app()
