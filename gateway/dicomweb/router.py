"""DICOMweb endpoints of the gateway (STOW-RS for now), behind bearer tokens and body limits."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from gateway.api.dependencies import object_store, orthanc_client
from gateway.dicomweb import stow_stream
from gateway.dicomweb.dicom_json import stow_response
from gateway.dicomweb.multipart import MultipartError, boundary_of, related_type, split_parts
from gateway.dicomweb.read import router as read_router
from gateway.dicomweb.stow import StowOutcome, declared_from, sender_of, settle, store_instances
from gateway.dicomweb.stow_stream import Received
from gateway.ingest.admission import Sender
from gateway.orthanc.port import OrthancPort
from gateway.orthanc.stream_upload import StreamingUploader
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


def _too_large(limit: int) -> str:
    return f"The upload is larger than the {limit // 2**20} MiB limit; split it."


async def _read_limited(request: Request, limit: int) -> bytes:
    """Read the body, refusing it as soon as it exceeds ``limit``.

    The chunks are joined once at the end: filling a buffer of the declared size first made
    the allocator zero 15 MB per radiograph before a byte was copied into it.
    """
    declared = request.headers.get("content-length")
    too_large = _too_large(limit)
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


def _authorize_sender(token: str) -> tuple[Principal, Sender]:
    """Return the caller and the organization its instances are stored for (for streaming)."""
    with request_session(read_only=True) as session:
        principal = authorize(session, token, UPLOADERS)
        assert principal.organization_id is not None  # every uploader role belongs to one
        return principal, sender_of(session, principal.organization_id)


def _settle_streamed(
    principal: Principal, received: Received, base_url: str, declared: DeclaredOrder | None
) -> StowOutcome:
    assert received.verdict is not None
    assert received.upload is not None
    outcome = StowOutcome(stored=[], failed=[])
    with request_session() as session:
        settle(
            session,
            outcome,
            principal,
            received.verdict,
            received.upload,
            base_url,
            declared=declared,
        )
    return outcome


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
    limit = get_settings().api.max_upload_bytes
    orthanc, store = _collaborators(request)
    uploader = getattr(orthanc, "stream_uploader", None)
    boundary = boundary_of(content_type)
    length = request.headers.get("content-length", "")
    streams = (
        isinstance(uploader, StreamingUploader)
        and boundary is not None
        and length.isdigit()
        and stow_stream.STREAM_FROM_BYTES <= int(length) <= limit
    )
    if streams:
        principal, sender = await run_in_threadpool(_authorize_sender, token)
    else:
        principal = await run_in_threadpool(_authorize, token)
    params = request.query_params
    declared = declared_from(params.get("urgency"), params.get("patient_type"))
    base_url = str(request.base_url).rstrip("/") + "/dicomweb"
    if streams:
        assert isinstance(uploader, StreamingUploader)
        assert boundary is not None
        try:
            received = await stow_stream.receive(
                request.stream(),
                content_type=content_type,
                boundary=boundary,
                declared_length=int(length),
                limit=limit,
                sender=sender,
                uploader=uploader,
            )
        except stow_stream.PayloadTooLarge as exc:
            raise PayloadTooLarge(_too_large(limit)) from exc
        body = received.body
        if received.upload is not None:
            outcome = await run_in_threadpool(
                _settle_streamed, principal, received, base_url, declared
            )
            return _answer(outcome)
    else:
        body = await _read_limited(request, limit)
    try:
        parts = [payload for _headers, payload in split_parts(content_type, body)]
    except MultipartError as exc:
        raise InvalidInput(str(exc)) from exc
    if not parts:
        raise InvalidInput("The request holds no DICOM instance.")
    outcome = await run_in_threadpool(_store, principal, parts, base_url, orthanc, store, declared)
    return _answer(outcome)


def _answer(outcome: StowOutcome) -> JSONResponse:
    return JSONResponse(
        stow_response(outcome.stored, outcome.failed),
        status_code=outcome.status_code,
        media_type="application/dicom+json",
    )
