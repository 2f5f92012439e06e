"""DICOMweb endpoints of the gateway (STOW-RS for now), behind bearer tokens and body limits."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from gateway.api.dependencies import object_store, orthanc_client
from gateway.dicomweb.dicom_json import stow_response
from gateway.dicomweb.multipart import MultipartError, related_type, split_parts
from gateway.dicomweb.read import router as read_router
from gateway.dicomweb.stow import StowOutcome, declared_from, store_instances
from gateway.orthanc.port import OrthancPort
from services.auth.dependencies import BearerToken, authorize
from services.auth.principal import Principal
from services.domain.declared_order import DeclaredOrder
from services.domain.roles import UPLOAD_ROLES
from services.kit.errors import AppError, InvalidInput
from services.kit.http import request_session
from services.kit.settings import get_settings
from services.kit.storage import ObjectStore

router = APIRouter(prefix="/dicomweb", tags=["dicomweb"])
router.include_router(read_router)  # QIDO-RS / WADO-RS for viewers
UPLOADERS = frozenset(UPLOAD_ROLES)


class PayloadTooLarge(AppError):
    """The body is larger than the configured limit."""

    status_code = 413
    code = "payload_too_large"


class UnsupportedMediaType(AppError):
    """The body's media type or content encoding is not accepted."""

    status_code = 415
    code = "unsupported_media_type"


async def _read_limited(request: Request, limit: int) -> bytes:
    """Read the body, refusing it as soon as it exceeds ``limit``.

    The chunks are joined once at the end: filling a buffer of the declared size first made
    the allocator zero 15 MB per radiograph before a byte was copied into it.
    """
    declared = request.headers.get("content-length")
    too_large = f"The upload is larger than the {limit // 2**20} MiB limit; split it."
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise PayloadTooLarge(too_large)
    chunks, received = [], 0
    async for chunk in request.stream():
        received += len(chunk)
        if received > limit:
            raise PayloadTooLarge(too_large)
        chunks.append(chunk)
    return b"".join(chunks)


def _collaborators(request: Request) -> tuple[OrthancPort, ObjectStore]:
    """Return the Orthanc port and object store, honouring the app's dependency overrides."""
    overrides = request.app.dependency_overrides
    orthanc = overrides.get(orthanc_client, orthanc_client)()
    store = overrides.get(object_store, object_store)()
    return orthanc, store


def _authorize(token: str) -> Principal:
    with request_session(read_only=True) as session:
        return authorize(session, token, UPLOADERS)


def _store(
    principal: Principal,
    parts: list[memoryview],
    base_url: str,
    orthanc: OrthancPort,
    store: ObjectStore,
    declared: DeclaredOrder | None,
) -> StowOutcome:
    with request_session() as session:
        return store_instances(
            session,
            orthanc=orthanc,
            store=store,
            principal=principal,
            parts=parts,
            base_url=base_url,
            declared=declared,
        )


@router.post("/studies")
async def stow(request: Request, token: BearerToken) -> JSONResponse:
    """Store instances (STOW-RS); the study belongs to the uploader's organization.

    Optional query parameters ``urgency`` (stat | urgent | routine) and ``patient_type``
    (outpatient | emergency | inpatient | health_check) declare the studies' urgency and patient
    type for the worklist; an unknown value is refused (422) before the body is read.
    """
    if request.headers.get("content-encoding", "identity").lower() != "identity":
        raise UnsupportedMediaType("Compressed request bodies are not accepted; send them plain.")
    content_type = request.headers.get("content-type", "")
    if related_type(content_type) not in {"application/dicom", ""}:
        raise UnsupportedMediaType('Only multipart/related; type="application/dicom" is accepted.')
    # Two worker-thread calls in all (who is calling, then the whole store): every FastAPI
    # sync dependency would add a thread hop per request. The caller is known before the body
    # is read, so nobody without an uploader role makes us read up to the size limit.
    principal = await run_in_threadpool(_authorize, token)
    params = request.query_params
    declared = declared_from(params.get("urgency"), params.get("patient_type"))
    body = await _read_limited(request, get_settings().api.max_upload_bytes)
    try:
        parts = [payload for _headers, payload in split_parts(content_type, body)]
    except MultipartError as exc:
        raise InvalidInput(str(exc)) from exc
    if not parts:
        raise InvalidInput("The request holds no DICOM instance.")
    base_url = str(request.base_url).rstrip("/") + "/dicomweb"
    orthanc, store = _collaborators(request)
    outcome = await run_in_threadpool(_store, principal, parts, base_url, orthanc, store, declared)
    return JSONResponse(
        stow_response(outcome.stored, outcome.failed),
        status_code=outcome.status_code,
        media_type="application/dicom+json",
    )
