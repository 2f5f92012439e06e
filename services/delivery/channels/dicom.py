"""DICOM C-STORE of the signed PDF (Encapsulated PDF) to the clinic's own PACS, as an SCU."""

from __future__ import annotations

from pydicom.uid import EncapsulatedPDFStorage, ExplicitVRLittleEndian, ImplicitVRLittleEndian
from pynetdicom import AE

from services.delivery import guard
from services.delivery.channels.base import Job, Outcome
from services.delivery.channels.encapsulated_pdf import build_encapsulated_pdf
from services.kit.clock import utc_now

SUCCESS = 0x0000
WARNINGS = {0xB000, 0xB006, 0xB007}
# "Refused: out of resources" (A7xx) may pass; other failures will not.
TRANSIENT_PREFIX = 0xA700
REJECT_TRANSIENT = 2  # A-ASSOCIATE-RJ result 2: rejected-transient


def _store_status(status: int, instance_uid: str) -> Outcome:
    ack = f"C-STORE 0x{status:04X}"
    if status == SUCCESS or status in WARNINGS:
        return Outcome.ok(ack, detail=f"SOP Instance {instance_uid}")
    message = f"The PACS refused the report object (C-STORE status 0x{status:04X})."
    if status & 0xFF00 == TRANSIENT_PREFIX:
        return Outcome.retry(message, ack_id=ack)
    return Outcome.failed(message, ack_id=ack)


def send(job: Job) -> Outcome:
    """Store the report's Encapsulated PDF at the channel's AE title, host and port."""
    host, port = str(job.config["host"]), int(job.config["port"])
    called = str(job.config["ae_title"])
    address = guard.resolve(host, port, allow_private=job.settings.allow_private_network)
    ds = build_encapsulated_pdf(job.export, job.pdf, now=utc_now())
    ae = AE(ae_title=str(job.config.get("calling_ae_title") or job.settings.calling_ae_title))
    ae.add_requested_context(
        EncapsulatedPDFStorage, [ExplicitVRLittleEndian, ImplicitVRLittleEndian]
    )
    for name in ("acse_timeout", "dimse_timeout", "network_timeout", "connection_timeout"):
        setattr(ae, name, job.settings.timeout_s)
    assoc = ae.associate(address, port, ae_title=called)
    if not assoc.is_established:
        where = f"PACS {called} at {host}:{port}"
        if assoc.is_rejected and assoc.acceptor.primitive is not None:
            result = assoc.acceptor.primitive.result
            message = f"The {where} rejected the association (check the AE titles)."
            return Outcome.retry(message) if result == REJECT_TRANSIENT else Outcome.failed(message)
        return Outcome.retry(
            f"Could not open a DICOM association with the {where}: connection refused, "
            "aborted or timed out."
        )
    try:
        status = assoc.send_c_store(ds)
    finally:
        assoc.release()
    if "Status" not in status:
        return Outcome.retry("The PACS did not answer the C-STORE (timeout or abort).")
    return _store_status(int(status.Status), str(ds.SOPInstanceUID))
