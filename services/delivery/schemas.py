"""Delivery API shapes: channel configuration per kind, the delivery log."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from services.report.interop.hl7_charset import DEFAULT_CHARSET, Hl7Charset

AeTitle = Annotated[str, Field(min_length=1, max_length=16, pattern=r"^[ -~]*[!-~][ -~]*$")]
Host = Annotated[str, Field(min_length=1, max_length=253, pattern=r"^[A-Za-z0-9.:\-\[\]]+$")]
Port = Annotated[int, Field(ge=1, le=65535)]
Url = Annotated[str, Field(min_length=8, max_length=500)]
Mailbox = Annotated[str, Field(max_length=254, pattern=r"^[^@\s,<>]+@[^@\s,<>]+\.[^@\s,<>]+$")]


class _Channel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(default="", max_length=100)


class PortalChannel(_Channel):
    """Portal download: always available, nothing is sent."""

    kind: Literal["portal"]


class DicomChannel(_Channel):
    """C-STORE of the Encapsulated PDF to the clinic's PACS."""

    kind: Literal["dicom"]
    ae_title: AeTitle
    host: Host
    port: Port
    calling_ae_title: AeTitle | None = None


class Hl7Channel(_Channel):
    """HL7 v2 ORU^R01 over MLLP to the clinic's HIS/RIS."""

    kind: Literal["hl7_mllp"]
    host: Host
    port: Port
    charset: Hl7Charset = Field(
        default=DEFAULT_CHARSET,
        description="MSH-18 and the bytes on the wire (HL7 table 0211): "
        "'UNICODE UTF-8' or 'GB 18030-2000'",
    )


class FhirChannel(_Channel):
    """FHIR R4 REST endpoint; an optional bearer token."""

    kind: Literal["fhir"]
    base_url: Url
    bearer_token: SecretStr | None = Field(default=None, max_length=1024)


class WebhookChannel(_Channel):
    """A URL that receives signed JSON notifications."""

    kind: Literal["webhook"]
    url: Url
    secret: SecretStr = Field(
        description="HMAC-SHA256 key, at least 16 characters", min_length=16, max_length=256
    )


class EmailChannel(_Channel):
    """Email recipients; the PDF is attached."""

    kind: Literal["email"]
    to: list[Mailbox] = Field(min_length=1, max_length=10)


ChannelCreate = Annotated[
    PortalChannel | DicomChannel | Hl7Channel | FhirChannel | WebhookChannel | EmailChannel,
    Field(discriminator="kind"),
]


class ChannelRead(BaseModel):
    """A configured channel; secrets are never returned."""

    id: uuid.UUID
    organization_id: uuid.UUID
    kind: str
    name: str
    config: dict[str, Any]
    has_secret: bool
    active: bool
    created_at: datetime


class AttemptRead(BaseModel):
    """One attempt of the delivery log."""

    model_config = ConfigDict(from_attributes=True)

    number: int
    outcome: str
    error: str
    ack_id: str
    detail: str
    actor: str
    duration_ms: int
    started_at: datetime
    finished_at: datetime


class DeliveryRead(BaseModel):
    """A report version's delivery over one channel, with every attempt."""

    id: uuid.UUID
    report_id: uuid.UUID
    report_version: int
    channel_id: uuid.UUID
    channel_kind: str
    channel_name: str
    status: str
    attempts: int
    next_attempt_at: datetime | None
    last_error: str
    delivered_at: datetime | None
    log: list[AttemptRead]
