"""DICOMweb endpoints of the gateway (STOW-RS for now), behind bearer tokens and body limits."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from gateway.api.dependencies import ObjectStoreDep, Orthanc
from gateway.dicomweb.dicom_json import stow_response
from gateway.dicomweb.multipart import MultipartError, related_type, split_parts
from gateway.dicomweb.read import router as read_router
from gateway.dicomweb.stow import store_instances
from services.auth.dependencies import require_roles
from services.auth.principal import Principal
from services.domain.roles import UPLOAD_ROLES
from services.kit.errors import AppError, InvalidInput
from services.kit.http import DbSession, Settings

router = APIRouter(prefix="/dicomweb", tags=["dicomweb"])
router.include_router(read_router)  # QIDO-RS / WADO-RS for viewers
Uploader = Annotated[Principal, Depends(require_roles(*UPLOAD_ROLES))]


class PayloadTooLarge(AppError):
    """The body is larger than the configured limit."""

    status_code = 413
    code = "payload_too_large"


class UnsupportedMediaType(AppError):
    """The body's media type or content encoding is not accepted."""

    status_code = 415
    code = "unsupported_media_type"


async def _read_limited(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise PayloadTooLarge(
            f"The upload is larger than the {limit // 2**20} MiB limit; split it."
        )
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise PayloadTooLarge(
                f"The upload is larger than the {limit // 2**20} MiB limit; split it."
            )
    return bytes(body)


@router.post("/studies")
async def stow(
    request: Request,
    session: DbSession,
    settings: Settings,
    principal: Uploader,
    orthanc: Orthanc,
    store: ObjectStoreDep,
) -> JSONResponse:
    """Store instances (STOW-RS); the study belongs to the uploader's organization."""
    if request.headers.get("content-encoding", "identity").lower() != "identity":
        raise UnsupportedMediaType("Compressed request bodies are not accepted; send them plain.")
    content_type = request.headers.get("content-type", "")
    if related_type(content_type) not in {"application/dicom", ""}:
        raise UnsupportedMediaType('Only multipart/related; type="application/dicom" is accepted.')
    body = await _read_limited(request, settings.api.max_upload_bytes)
    try:
        parts = [payload for _headers, payload in split_parts(content_type, body)]
    except MultipartError as exc:
        raise InvalidInput(str(exc)) from exc
    if not parts:
        raise InvalidInput("The request holds no DICOM instance.")
    base_url = str(request.base_url).rstrip("/") + "/dicomweb"
    outcome = await run_in_threadpool(
        store_instances,
        session,
        orthanc=orthanc,
        store=store,
        principal=principal,
        parts=parts,
        base_url=base_url,
    )
    return JSONResponse(
        stow_response(outcome.stored, outcome.failed),
        status_code=outcome.status_code,
        media_type="application/dicom+json",
    )
