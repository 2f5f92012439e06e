"""``radbridge upload PATH``: the clinic uploader (file, folder, zip or DICOMDIR; ``--watch``)."""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from typing import Annotated

import requests
import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from gateway.upload.client import BatchOutcome, UploadError, UploadRunner
from gateway.upload.discover import LocalFile, Selection, select
from gateway.upload.folder_watch import watch as watch_folder
from gateway.upload.resume_state import ResumeState
from services.domain.declared_order import UnknownDeclaration, declared_order
from services.kit.settings import get_settings

console = Console(stderr=True)


class BarProgress:
    """A rich progress bar over the bytes of a batch."""

    def __init__(self, enabled: bool) -> None:
        self._bar = Progress(
            TextColumn("{task.description}", justify="left"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=console,
            disable=not enabled,
        )
        self._task = self._bar.add_task("", total=0)
        self._files = 0
        self._current = 0
        self._lock = threading.Lock()  # files start in several threads at once

    def __enter__(self) -> BarProgress:
        self._bar.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._bar.stop()

    def begin(self, total_bytes: int, files: int) -> None:
        """Reset the bar for a batch."""
        self._files, self._current = files, 0
        self._bar.reset(self._task, total=total_bytes, completed=0)

    def file(self, name: str) -> None:
        """Show which file started last, and how many have started."""
        with self._lock:
            self._current += 1
            shown = f"[{self._current}/{self._files}] {name[-40:]}"
        self._bar.update(self._task, description=shown)

    def advance(self, sent: int) -> None:
        """Count bytes the server confirmed."""
        self._bar.advance(self._task, sent)


def _token(
    api: str,
    user: str | None,
    password: str | None,
    client_id: str | None,
    client_secret: str | None,
) -> str:
    if client_id:
        form = {
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": client_secret or "",
        }
    elif user:
        form = {"grant_type": "password", "username": user, "password": password or ""}
    else:
        raise typer.BadParameter("Give --token, --user (and --password) or --client-id.")
    try:
        response = requests.post(f"{api.rstrip('/')}/oauth/token", data=form, timeout=30)
    except requests.RequestException as exc:
        raise typer.BadParameter(f"Cannot reach {api} to sign in: {exc}") from exc
    if response.status_code != 200:
        raise typer.BadParameter(f"Sign-in refused by {api}: {response.text[:200]}")
    token: str = response.json()["access_token"]
    return token


def _report(outcome: BatchOutcome) -> bool:
    ok = True
    stored = sum(f.instances for f in outcome.files)
    console.print(
        f"batch {outcome.batch}: {len(outcome.files)} files, {stored} instances stored, "
        f"batch {outcome.status.get('status', '?')} "
        f"({outcome.status.get('received_files', '?')}/{outcome.status.get('expected_files', '?')})"
    )
    for f in outcome.files:
        if f.state == "refused":
            ok = False
            console.print(f"[red]refused[/red] {f.name}: {f.reason}")
        for bad in f.refused_instances:
            ok = False
            console.print(f"[yellow]quarantined[/yellow] {f.name}: {bad.get('reason', '')}")
    return ok


def _send_all(runner: UploadRunner, path: Path) -> bool:
    selection = select(path)
    for skipped in selection.skipped:
        console.print(f"skipped (not DICOM or zip): {skipped}")
    ok, sent = True, set[str]()
    while True:  # an interrupted batch first, then any files new since it began
        outcome = runner.send(selection)
        if outcome is None:
            return ok
        ok = _report(outcome) and ok
        names = {f.name for f in outcome.files}
        if names <= sent or outcome.status.get("status") != "FINALIZED":
            return ok
        sent |= names


def _declared_metadata(urgency: str | None, patient_type: str | None) -> dict[str, str]:
    """Return the tus metadata declaring urgency / patient type (checked before any upload)."""
    try:
        declared = declared_order(urgency=urgency, patient_type=patient_type)
    except UnknownDeclaration as exc:
        raise typer.BadParameter(str(exc)) from exc
    named = {"urgency": declared.urgency, "patient-type": declared.patient_type}
    return {key: value for key, value in named.items() if value}


def upload(  # noqa: PLR0913, PLR0917 - the command's options
    path: Annotated[Path, typer.Argument(help="A DICOM file, folder, zip or DICOMDIR.")],
    watch: Annotated[bool, typer.Option(help="Keep watching the folder for new files.")] = False,
    server: Annotated[str | None, typer.Option(help="Gateway URL.")] = None,
    token: Annotated[str | None, typer.Option(envvar="RADBRIDGE_UPLOAD_TOKEN")] = None,
    user: Annotated[str | None, typer.Option(help="Sign in as this user.")] = None,
    password: Annotated[str | None, typer.Option(envvar="RADBRIDGE_UPLOAD_PASSWORD")] = None,
    client_id: Annotated[str | None, typer.Option(help="Sign in as an ingest agent.")] = None,
    client_secret: Annotated[str | None, typer.Option(envvar="RADBRIDGE_CLIENT_SECRET")] = None,
    api: Annotated[str | None, typer.Option(help="API URL that issues tokens.")] = None,
    state_file: Annotated[Path | None, typer.Option("--state", help="Resume state file.")] = None,
    chunk_size: Annotated[int, typer.Option(help="Bytes per request.")] = 4 * 1024 * 1024,
    stable_seconds: Annotated[float, typer.Option(help="--watch: quiet time.")] = 5.0,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
    parallel: Annotated[int, typer.Option(min=1, max=16, help="Files sent at once.")] = 4,
    urgency: Annotated[
        str | None, typer.Option(help="Declare the studies' urgency: stat, urgent, routine.")
    ] = None,
    patient_type: Annotated[
        str | None,
        typer.Option(help="Declare outpatient, emergency, inpatient or health_check."),
    ] = None,
) -> None:
    """Upload studies to the gateway over a link that may drop; re-run to resume."""
    declared = _declared_metadata(urgency, patient_type)
    settings = get_settings()
    server_url = (server or settings.gateway.public_url).rstrip("/")
    renew = None
    if token is None:
        if user and password is None:
            password = typer.prompt("Password", hide_input=True)
        api_url = api or settings.api.public_url

        def renew() -> str:
            return _token(api_url, user, password, client_id, client_secret)

        token = renew()
    state = ResumeState(state_file or settings.state_dir / "upload-state.json", server_url)
    with BarProgress(progress) as bar:
        runner = UploadRunner(
            server_url,
            token,
            state,
            bar,
            chunk_size=chunk_size,
            renew_token=renew,
            parallel=parallel,
            declared=declared,
        )
        try:
            ok = _send_all(runner, path)
            if watch:
                _watch(runner, path.resolve(), stable_seconds)
        except (UploadError, ValueError) as exc:
            console.print(f"[red]{exc}[/red]")
            raise typer.Exit(1) from exc
    raise typer.Exit(0 if ok else 1)


def _watch(runner: UploadRunner, folder: Path, stable_s: float) -> None:
    if not folder.is_dir():
        raise ValueError("--watch needs a folder.")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    console.print(f"watching {folder}; Ctrl-C stops")

    def ready(paths: list[Path]) -> None:
        files = [LocalFile(p, p.relative_to(folder).as_posix()) for p in paths if p.is_file()]
        wanted = [f for f in files if not f.name.startswith(".") and not runner.is_stored(f)]
        outcome = runner.send(Selection(folder, wanted, [])) if wanted else None
        if outcome is not None:
            _report(outcome)

    watch_folder(folder, ready, stop, stable_s)
