"""What a channel gets (a ``Job``, built inside a transaction) and gives back (an ``Outcome``).

Channels do network I/O only: no database session is open while they talk to a peer.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from services.delivery.policy import Result
from services.delivery.settings import DeliverySettings
from services.report.interop.export import ReportExport


@dataclass(frozen=True)
class Job:
    """One attempt to deliver one report version over one channel."""

    delivery_id: uuid.UUID
    attempt: int  # 1, 2, ... over the delivery's life
    kind: str
    config: dict[str, Any]
    secret: str | None
    study_id: uuid.UUID
    report_id: uuid.UUID
    pdf_sha256: str
    export: ReportExport
    settings: DeliverySettings = field(repr=False)

    @property
    def pdf(self) -> bytes:
        """Return the signed PDF (a job is only built for a rendered report)."""
        assert self.export.pdf is not None
        return self.export.pdf


@dataclass(frozen=True)
class Outcome:
    """The result of one attempt: ``retry`` for transient errors, ``failed`` for permanent ones."""

    result: Result
    error: str = ""
    ack_id: str = ""
    detail: str = ""

    @classmethod
    def ok(cls, ack_id: str, detail: str = "") -> Outcome:
        """Return a success with the peer's acknowledgement."""
        return cls("delivered", ack_id=ack_id, detail=detail)

    @classmethod
    def retry(cls, error: str, ack_id: str = "") -> Outcome:
        """Return a transient failure, worth trying again."""
        return cls("retry", error=error, ack_id=ack_id)

    @classmethod
    def failed(cls, error: str, ack_id: str = "") -> Outcome:
        """Return a permanent failure: retrying would not help."""
        return cls("failed", error=error, ack_id=ack_id)


Sender = Callable[[Job], Outcome]


def network_error(what: str, host: str, port: int, exc: BaseException) -> Outcome:
    """Describe a connection failure to a person, as a transient outcome."""
    if isinstance(exc, ConnectionRefusedError):
        reason = "connection refused (is the service running and the port open?)"
    elif isinstance(exc, TimeoutError):
        reason = "no answer before the timeout"
    else:
        reason = f"{type(exc).__name__}: {exc}"
    return Outcome.retry(f"Could not reach the {what} at {host}:{port}: {reason}.")
