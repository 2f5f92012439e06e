"""``radbridge gateway dicom``: run the gateway's DICOM SCP in front of Orthanc."""

from __future__ import annotations

import logging
import multiprocessing
import signal
import threading
from multiprocessing.process import BaseProcess
from pathlib import Path

import typer

from gateway.api.dependencies import object_store, orthanc_client
from gateway.scp.forwarding import run_forwarder
from gateway.scp.nodes import NodeDirectory
from gateway.scp.server import DicomGateway
from services.kit.settings import get_settings

log = logging.getLogger("radbridge.scp")
SPOOL_DIRNAME = "scp-spool"  # under the state directory; the Helm chart mounts a volume there


def _start_forwarder(spool_dir: Path) -> BaseProcess:
    """Start the process that stores spooled instances in Orthanc (a fresh interpreter)."""
    process = multiprocessing.get_context("spawn").Process(
        target=run_forwarder, args=(spool_dir,), name="scp-forwarder"
    )
    process.start()
    return process


def _stop_forwarder(process: BaseProcess) -> None:
    process.terminate()  # SIGTERM: deliveries under way finish, the rest stays spooled
    process.join(15)
    if process.is_alive():
        process.kill()
        process.join(5)


def dicom_scp(
    host: str | None = typer.Option(None, help="Address to listen on (default: settings)."),
    port: int | None = typer.Option(None, help="DICOM port (default: orthanc.dicom_port)."),
) -> None:
    """Receive C-STORE/C-ECHO from registered DICOM nodes and store into Orthanc."""
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("pynetdicom").setLevel(logging.WARNING)  # a line per C-STORE otherwise
    settings = get_settings()
    g, o = settings.gateway, settings.orthanc
    spool_dir = settings.state_dir / SPOOL_DIRNAME
    gateway = DicomGateway(
        ae_title=o.dicom_aet,
        orthanc=orthanc_client(),
        store=object_store(),
        directory=NodeDirectory(check_host=g.dicom_check_host),
        spool_dir=spool_dir,
        max_associations=g.dicom_max_associations,
        forward_in_process=False,  # the forwarder process below stores into Orthanc
    )
    spool_dir.mkdir(parents=True, exist_ok=True)
    forwarder = _start_forwarder(spool_dir)
    try:
        bound_host, bound_port = gateway.start(host or g.dicom_host, port or o.dicom_port)
    except OSError as exc:
        _stop_forwarder(forwarder)
        typer.echo(
            f"cannot listen on port {port or o.dicom_port} ({exc.strerror}); is Orthanc's own"
            " DICOM server still on it? Set RADBRIDGE_GATEWAY__DICOM_SCP=true for"
            " `radbridge orthanc`, or choose another --port.",
            err=True,
        )
        raise typer.Exit(1) from exc
    typer.echo(f"DICOM SCP {o.dicom_aet} on {bound_host}:{bound_port} -> Orthanc {o.url}")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        while not stop.wait(1.0):
            if not forwarder.is_alive():  # what it had not delivered is still spooled
                log.error("forwarder exited (code %s); starting another", forwarder.exitcode)
                forwarder = _start_forwarder(spool_dir)
    finally:
        gateway.stop()  # stop listening; the forwarder empties the spool while it may
        _stop_forwarder(forwarder)
