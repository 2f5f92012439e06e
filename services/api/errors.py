"""Turn every error into JSON with a code, a sentence for people, and a correlation id."""

from __future__ import annotations

import logging
import uuid

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from services.domain.study_status import IllegalTransition
from services.kit.errors import AppError

log = logging.getLogger("radbridge.api")


def _correlation_id(request: Request) -> str:
    return request.headers.get("x-request-id") or uuid.uuid4().hex


def error_response(
    request: Request, status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    """Build the uniform error body."""
    cid = _correlation_id(request)
    body = {"error": code, "message": message, "correlation_id": cid}
    return JSONResponse(body, status_code=status, headers={"X-Request-ID": cid, **(headers or {})})


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers on ``app``."""

    @app.exception_handler(AppError)
    async def app_error(request: Request, exc: AppError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
        if exc.status_code == 503:
            headers = {"Retry-After": "5"}
        return error_response(request, exc.status_code, exc.code, exc.message, headers)

    @app.exception_handler(IllegalTransition)
    async def illegal(request: Request, exc: IllegalTransition) -> JSONResponse:
        return error_response(request, 409, "illegal_transition", str(exc))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        parts = [
            f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', 'invalid')}"
            for e in exc.errors()
        ]
        return error_response(request, 422, "invalid_request", "; ".join(parts)[:1000])

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return error_response(request, exc.status_code, "http_error", str(exc.detail))

    @app.exception_handler(OperationalError)
    async def database_down(request: Request, exc: OperationalError) -> JSONResponse:
        log.warning("database unavailable: %s", type(exc).__name__)
        message = "The database is unavailable; retry in a few seconds."
        return error_response(request, 503, "service_unavailable", message, {"Retry-After": "5"})

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        message = (
            "Something went wrong on our side; the error was logged. "
            "Retry, or report the correlation id."
        )
        return error_response(request, 500, "internal_error", message)
