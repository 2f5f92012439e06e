"""Errors raised by the Orthanc-facing layer.

They extend the platform's :class:`~services.kit.errors.AppError`, so the API turns them into a
clear JSON answer, and a worker can retry on :class:`OrthancUnavailable` alone.
"""

from __future__ import annotations

from typing import ClassVar

from services.kit.errors import AppError, ServiceUnavailable


class OrthancError(AppError):
    """Base of every error coming from the Orthanc layer."""

    status_code: ClassVar[int] = 502
    code: ClassVar[str] = "orthanc_error"

    def __init__(self, reason: str, *, orthanc_status: int | None = None) -> None:
        super().__init__(reason, orthanc_status=orthanc_status)
        self.reason = reason
        self.orthanc_status = orthanc_status


class OrthancUnavailable(OrthancError, ServiceUnavailable):
    """Orthanc cannot be reached, timed out, or failed internally (5xx): retrying may work."""

    status_code: ClassVar[int] = 503
    code: ClassVar[str] = "orthanc_unavailable"


class OrthancRejected(OrthancError):
    """Orthanc answered with a 4xx: the request itself is wrong, retrying will not help."""

    status_code: ClassVar[int] = 502
    code: ClassVar[str] = "orthanc_rejected"


class OrthancNotFound(OrthancRejected):
    """The Orthanc resource does not exist (HTTP 404)."""

    status_code: ClassVar[int] = 404
    code: ClassVar[str] = "not_found"


class OrthancStartError(RuntimeError):
    """A local Orthanc process did not come up; the message carries the tail of its log."""
