"""``radbridge gateway dicom``: run the gateway's DICOM SCP in front of Orthanc."""

from __future__ import annotations

import logging
import signal
import threading

import typer

from gateway.api.dependencies import object_store, orthanc_client
from gateway.scp.nodes import NodeDirectory
from gateway.scp.server import DicomGateway
from services.kit.settings import get_settings


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
    gateway = DicomGateway(
        ae_title=o.dicom_aet,
        orthanc=orthanc_client(),
        store=object_store(),
        directory=NodeDirectory(check_host=g.dicom_check_host),
        spool_dir=settings.state_dir / "scp-spool",
        max_associations=g.dicom_max_associations,
    )
    try:
        bound_host, bound_port = gateway.start(host or g.dicom_host, port or o.dicom_port)
    except OSError as exc:
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
        stop.wait()
    finally:
        gateway.stop()
