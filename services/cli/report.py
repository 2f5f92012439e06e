"""``radbridge report ...``: operations on signed reports."""

from __future__ import annotations

import uuid

import typer

from services.domain.report_template import TemplateInvalid
from services.kit.db import session_scope
from services.kit.settings import get_settings
from services.models import Report
from services.report import template_service
from services.report.service import verify_signed_report

report_app = typer.Typer(help="Signed reports.", no_args_is_help=True)


@report_app.command("verify")
def verify(report_id: str) -> None:
    """Verify a signed report: content hash + CMS signature, PDF hash + PAdES signature."""
    with session_scope() as session:
        report = session.get(Report, uuid.UUID(report_id))
        if report is None or report.status == "DRAFT":
            typer.echo(f"no signed report {report_id}", err=True)
            raise typer.Exit(2)
        result = verify_signed_report(session, get_settings(), report=report)
    names = ["content_hash", "content_signature", "pdf_hash", "pdf_signature"]
    if result.countersignature is not None:  # double-signed (双签) versions
        names.append("countersignature")
    for name in names:
        check = getattr(result, name)
        mark = "ok  " if check.valid else "FAIL"
        typer.echo(f"{mark} {name:<18} {check.detail} {check.signer}".rstrip())
    typer.echo("VALID" if result.valid else "INVALID")
    raise typer.Exit(0 if result.valid else 1)


@report_app.command("sync-templates")
def sync_templates() -> None:
    """Add shipped report templates (new files or versions) missing from the database."""
    try:
        with session_scope() as session:
            added = template_service.sync_library(session)
    except TemplateInvalid as exc:
        typer.echo("template library not loaded: " + "; ".join(exc.problems), err=True)
        typer.echo("fix the file named above, then run this command again", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"{added} template(s) added")
