"""Which function sends over which kind of channel."""

from __future__ import annotations

from services.delivery.channels import dicom, fhir, mail, mllp, webhook
from services.delivery.channels.base import Sender

SENDERS: dict[str, Sender] = {
    "dicom": dicom.send,
    "hl7_mllp": mllp.send,
    "fhir": fhir.send,
    "webhook": webhook.send,
    "email": mail.send,
}
