"""``radbridge bench ingest``, added to the core's ``bench`` group."""

from __future__ import annotations

import os

import typer

from gateway.bench import upload as upload_bench
from gateway.bench.ingest import SCENARIOS, BenchOptions, report, run_bench


def ingest(  # noqa: PLR0913 - one option per benchmark size
    *,
    rounds: int = typer.Option(5, min=1, help="A/B rounds; medians are reported."),
    small: int = typer.Option(400, min=1, help="CT-like slices (~40 kB) a run."),
    small_clients: int = typer.Option(4, min=1),
    large: int = typer.Option(12, min=1, help="Radiographs (15 MB) a run."),
    large_clients: int = typer.Option(2, min=1),
    cstore: int = typer.Option(400, min=1, help="Slices sent over one C-STORE association."),
    large_side: int | None = typer.Option(None, help="Radiograph side in pixels (2736)."),
    per_request: int = typer.Option(16, min=1, help="Slices per STOW-RS request (batched run)."),
    gateway_workers: int = typer.Option(
        os.cpu_count() or 1,
        min=1,
        help="HTTP worker processes of the gateway (gateway.workers); one per core by default,"
        " as Orthanc's own threads use every core.",
    ),
    only: list[str] = typer.Option(
        [], help=f"Run only these scenarios (repeat): {', '.join(sorted(SCENARIOS))}."
    ),
) -> None:
    """Store the same files straight into Orthanc and through the gateway; print the ratios."""
    unknown = set(only) - SCENARIOS
    if unknown:
        raise typer.BadParameter(
            f"unknown scenario(s) {', '.join(sorted(unknown))}; choose from"
            f" {', '.join(sorted(SCENARIOS))}",
            param_hint="--only",
        )
    options = BenchOptions(
        rounds=rounds,
        small_count=small,
        small_clients=small_clients,
        large_count=large,
        large_clients=large_clients,
        cstore_count=min(cstore, small),
        large_side=large_side,
        per_request=per_request,
        only=frozenset(only) or SCENARIOS,
        gateway_workers=gateway_workers,
    )
    report(run_bench(options, echo=typer.echo), echo=typer.echo)


def upload(
    *,
    files: int = typer.Option(200, min=1, help="CT-like slices (~40 kB) a run."),
    parallel: int = typer.Option(4, min=2, help="Files at once in the parallel runs."),
    rounds: int = typer.Option(3, min=1, help="Serial/parallel pairs; medians are reported."),
) -> None:
    """Upload the same-sized study with the clinic uploader serially and in parallel."""
    result = upload_bench.run_upload_bench(files, parallel, rounds, echo=typer.echo)
    upload_bench.report(result, echo=typer.echo)


def add_bench_commands(app: typer.Typer) -> None:
    """Add ``ingest`` and ``upload`` to the root CLI's ``bench`` group."""
    for group in app.registered_groups:
        if group.name == "bench" and group.typer_instance is not None:
            group.typer_instance.command("ingest")(ingest)
            group.typer_instance.command("upload")(upload)
            return
    raise RuntimeError("the root CLI has no 'bench' group")
