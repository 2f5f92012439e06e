"""``radbridge export``: a de-identified research dataset of selected studies.

Plugged into the root CLI through the ``radbridge.cli`` entry-point group.
"""

from __future__ import annotations

import uuid
from typing import Annotated

import typer

from gateway.export.selection import ExportRefused, Selection
from gateway.export.service import export_studies, open_destination


def _ids(values: list[str]) -> tuple[uuid.UUID, ...]:
    try:
        return tuple(uuid.UUID(v) for v in values)
    except ValueError as exc:
        raise ExportRefused(f"--study takes study ids (UUIDs from the API): {exc}") from exc


def export(  # noqa: PLR0913 - one option per selection criterion
    *,
    to: Annotated[
        str, typer.Option(help="Folder, or s3://bucket/prefix (S3 endpoint from settings).")
    ],
    as_user: Annotated[str, typer.Option("--as", help="Your consortium-administrator username.")],
    study: Annotated[list[str] | None, typer.Option(help="Study id; repeat for more.")] = None,
    accession: Annotated[list[str] | None, typer.Option(help="Accession number; repeat.")] = None,
    modality: Annotated[str | None, typer.Option(help="Filter: modality, e.g. CT.")] = None,
    since: Annotated[str | None, typer.Option(help="Filter: study date from (YYYYMMDD).")] = None,
    until: Annotated[str | None, typer.Option(help="Filter: study date to (YYYYMMDD).")] = None,
    allow_burned_in: Annotated[
        bool, typer.Option(help="Also export instances whose pixels may show identities.")
    ] = False,
) -> None:
    """Export selected studies of your consortium, de-identified (DICOM PS3.15 Annex E)."""
    from gateway.api.dependencies import orthanc_client
    from services.kit.settings import get_settings

    settings = get_settings()
    try:
        selection = Selection(
            study_ids=_ids(study or []),
            accessions=tuple(accession or ()),
            modality=modality,
            date_from=since,
            date_to=until,
        )
        destination = open_destination(to, settings)
        with typer.progressbar(length=0, label="de-identifying") as bar:

            def progress(done: int, total: int) -> None:
                bar.length = total
                bar.update(done - bar.pos)

            report = export_studies(
                account=as_user,
                selection=selection,
                destination=destination,
                orthanc=orthanc_client(),
                settings=settings,
                allow_burned_in=allow_burned_in,
                progress=progress,
            )
    except ExportRefused as exc:
        typer.echo(f"export refused: {exc}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(
        f"exported {report.files} instance(s) of {report.studies} study(ies) to "
        f"{report.destination}; {report.blocked} blocked (see {report.manifest_key}); "
        f"manifest sha256 {report.manifest_sha256}; export id {report.export_id}"
    )


def register(app: typer.Typer) -> None:
    """Add ``radbridge export`` to the root CLI."""
    app.command("export")(export)
