"""``radbridge gateway``: serve the gateway app, or ``reconcile`` Orthanc with the database."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import timedelta

import typer
from sqlalchemy.exc import SQLAlchemyError

from gateway.api.dependencies import orthanc_client
from gateway.ingest.reconcile import build_reconciler
from gateway.orthanc.errors import OrthancUnavailable
from services.kit.settings import get_settings


def reconcile(
    dry_run: bool = typer.Option(False, "--dry-run", help="Only report; change nothing."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
    stuck_after_minutes: int | None = typer.Option(
        None, help="Work without progress for this long counts as stuck (default: settings)."
    ),
) -> None:
    """Find orphan studies in Orthanc, vanished ones, and stuck work; fix what can be fixed."""
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("urllib3").setLevel(logging.ERROR)  # Orthanc being down is reported below
    settings = get_settings()
    reconciler = build_reconciler(orthanc_client(), settings)
    if stuck_after_minutes is not None:
        reconciler.stuck_after = timedelta(minutes=max(1, stuck_after_minutes))
    try:
        report = reconciler.run(act=not dry_run)
    except OrthancUnavailable as exc:
        typer.echo(
            f"Orthanc is not reachable at {settings.orthanc.url} ({exc.reason}); start it "
            "(`radbridge orthanc`) or check RADBRIDGE_ORTHANC__URL, then run this again.",
            err=True,
        )
        raise typer.Exit(2) from exc
    except SQLAlchemyError as exc:
        where = settings.database_url.split("@")[-1]
        typer.echo(
            f"The database ({where}) cannot be read: {type(exc).__name__}. Check that it runs "
            "and is up to date (`radbridge migrate`), then run this again.",
            err=True,
        )
        raise typer.Exit(2) from exc
    counts = report.counts()
    if as_json:
        body = {"counts": counts, "orphans": report.orphans}
        typer.echo(json.dumps(body, indent=1, sort_keys=True))
        return
    typer.echo(f"reconciliation{' (dry run)' if dry_run else ''}:")
    for name, value in counts.items():
        typer.echo(f"  {name:<22} {value}")


def gateway_group(serve: Callable[[str | None, int | None], None]) -> typer.Typer:
    """Return the ``gateway`` group: without a sub-command it serves the HTTP app."""
    group = typer.Typer(help="The clinic-facing gateway (DICOMweb) and its housekeeping.")

    @group.callback(invoke_without_command=True)
    def main(ctx: typer.Context, host: str | None = None, port: int | None = None) -> None:
        """Serve the gateway's HTTP app unless a sub-command is given."""
        if ctx.invoked_subcommand is None:
            serve(host, port)

    group.command("reconcile")(reconcile)
    return group
