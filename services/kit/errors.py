"""Application errors that carry an HTTP status, a stable code and a sentence for people."""

from __future__ import annotations

from typing import Any, ClassVar


class AppError(Exception):
    """Base of every error the API turns into a clear JSON answer."""

    status_code: ClassVar[int] = 400
    code: ClassVar[str] = "bad_request"

    def __init__(self, message: str, **detail: Any) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail


class NotFound(AppError):
    """The object does not exist, or the caller may not know that it does (tenant isolation)."""

    status_code = 404
    code = "not_found"


class Conflict(AppError):
    """The request clashes with the current state (e.g. an illegal status transition)."""

    status_code = 409
    code = "conflict"


class Unauthorized(AppError):
    """No valid credentials: missing, expired, or tampered token."""

    status_code = 401
    code = "unauthorized"


class Forbidden(AppError):
    """Valid credentials without the role the action needs."""

    status_code = 403
    code = "forbidden"


class InvalidInput(AppError):
    """A payload that is well-formed JSON/HTTP but cannot be accepted."""

    status_code = 422
    code = "invalid_input"


class ServiceUnavailable(AppError):
    """A dependency (database, Orthanc, Triton) is down; retrying later may work."""

    status_code = 503
    code = "service_unavailable"
