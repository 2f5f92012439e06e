"""Resumable uploads (tus 1.0: core, creation, termination, checksum) for browsers and the CLI.

``POST /uploads/`` creates an upload (bearer token, Upload-Length within the limit), ``PATCH``
appends a chunk at ``Upload-Offset``, ``HEAD`` tells where to resume, ``DELETE`` abandons it.
When the last byte arrives the file (DICOM, zip or DICOMDIR bundle) is stored like STOW-RS.
Batches: files declaring the same ``batch`` id become visible to readers together.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.concurrency import run_in_threadpool

from gateway.api.dependencies import ObjectStoreDep, Orthanc
from gateway.upload import service
from gateway.upload.ingest import Ingestor, store_upload
from gateway.upload.protocol import (
    CHECKSUM_ALGORITHMS,
    EXTENSIONS,
    OFFSET_CONTENT_TYPE,
    TUS_VERSION,
    OffsetMismatch,
    WrongContentType,
    check_version,
    parse_checksum,
    parse_length,
    parse_metadata,
    parse_offset,
)
from gateway.upload.receive import LinkCut, receive_chunk
from gateway.upload.schemas import BatchRead, UploadRead
from gateway.upload.store import RECEIVED, RECEIVING, UploadInfo, UploadStore
from services.auth.dependencies import require_roles
from services.auth.principal import Principal
from services.domain.roles import UPLOAD_ROLES
from services.kit.db import session_scope
from services.kit.errors import Conflict
from services.kit.http import DbSession, Settings
from services.kit.settings import get_settings

router = APIRouter(prefix="/uploads", tags=["uploads"])
Uploader = Annotated[Principal, Depends(require_roles(*UPLOAD_ROLES))]
TUS_HEADERS = {"Tus-Resumable": TUS_VERSION, "Cache-Control": "no-store"}


@lru_cache
def upload_store() -> UploadStore:
    """Return the process's upload folder (under the state folder, so restarts keep it)."""
    return UploadStore(get_settings().state_dir / "uploads")


Store = Annotated[UploadStore, Depends(upload_store)]


def _ingestor(request: Request, orthanc: Orthanc, objects: ObjectStoreDep) -> Ingestor:
    base_url = str(request.base_url).rstrip("/") + "/dicomweb"
    return Ingestor(orthanc=orthanc, objects=objects, scope=session_scope, base_url=base_url)


IngestorDep = Annotated[Ingestor, Depends(_ingestor)]


def _offset_headers(info: UploadInfo) -> dict[str, str]:
    return {**TUS_HEADERS, "Upload-Offset": str(info.offset), "Upload-Length": str(info.length)}


@router.options("/", status_code=204)
@router.options("", status_code=204, include_in_schema=False)
def discover(settings: Settings) -> Response:
    """Announce the tus version, extensions, checksum algorithms and the size limit."""
    headers = {
        **TUS_HEADERS,
        "Tus-Version": TUS_VERSION,
        "Tus-Extension": EXTENSIONS,
        "Tus-Checksum-Algorithm": ",".join(CHECKSUM_ALGORITHMS),
        "Tus-Max-Size": str(settings.gateway.upload_max_bytes),
    }
    return Response(status_code=204, headers=headers)


@router.post("/", status_code=201)
@router.post("", status_code=201, include_in_schema=False)
def create(
    request: Request, session: DbSession, settings: Settings, principal: Uploader, store: Store
) -> Response:
    """Create an upload; a length above the limit is refused (413) before any byte is read."""
    check_version(request.headers.get("tus-resumable"))
    length = parse_length(request.headers.get("upload-length"), settings.gateway.upload_max_bytes)
    metadata = parse_metadata(request.headers.get("upload-metadata"))
    info = service.create(session, store, principal=principal, length=length, metadata=metadata)
    location = f"{str(request.base_url).rstrip('/')}/uploads/{info.id}"
    return Response(status_code=201, headers={**TUS_HEADERS, "Location": location})


@router.head("/{upload_id}")
def offset(
    upload_id: str, request: Request, session: DbSession, principal: Uploader, store: Store
) -> Response:
    """Tell where the upload stands, so the client resumes from there."""
    check_version(request.headers.get("tus-resumable"))
    info = service.owned(session, store, principal=principal, upload_id=upload_id)
    return Response(status_code=200, headers=_offset_headers(info))


@router.patch("/{upload_id}", status_code=204)
async def append(
    upload_id: str,
    request: Request,
    session: DbSession,
    principal: Uploader,
    store: Store,
    ingestor: IngestorDep,
) -> Response:
    """Append one chunk at ``Upload-Offset``; after the last one, store the file's instances."""
    check_version(request.headers.get("tus-resumable"))
    if request.headers.get("content-type", "").split(";")[0].strip() != OFFSET_CONTENT_TYPE:
        raise WrongContentType(f"Send chunks as Content-Type: {OFFSET_CONTENT_TYPE}.")
    if request.headers.get("content-encoding", "identity").lower() != "identity":
        raise WrongContentType("Compressed chunks are not accepted; send the bytes as they are.")
    start = parse_offset(request.headers.get("upload-offset"))
    checksum = parse_checksum(request.headers.get("upload-checksum"))
    info = service.owned(session, store, principal=principal, upload_id=upload_id)
    idle_s = get_settings().gateway.upload_idle_timeout_s
    with store.locked(upload_id):
        info = store.load(upload_id) or info  # re-read under the lock
        if info.state != RECEIVING:
            raise Conflict("This upload is complete; HEAD or GET it for its outcome.")
        if start != info.offset:
            raise OffsetMismatch(
                f"The upload stands at byte {info.offset}, not {start}; resume from there."
            )
        try:
            await receive_chunk(request.stream(), store, info, checksum, idle_s)
        except LinkCut:
            return Response(status_code=204, headers=_offset_headers(info))  # nobody listens
    if info.state == RECEIVED:
        info = await run_in_threadpool(store_upload, ingestor, store, upload_id, principal)
    return Response(status_code=204, headers=_offset_headers(info))


@router.delete("/{upload_id}", status_code=204)
def terminate(
    upload_id: str, request: Request, session: DbSession, principal: Uploader, store: Store
) -> Response:
    """Abandon an upload and free its space (instances already stored stay stored)."""
    check_version(request.headers.get("tus-resumable"))
    info = service.owned(session, store, principal=principal, upload_id=upload_id)
    with store.locked(upload_id):
        store.delete(info)
    return Response(status_code=204, headers=TUS_HEADERS)


@router.get("/{upload_id}")
def status(
    upload_id: str, session: DbSession, principal: Uploader, store: Store, ingestor: IngestorDep
) -> UploadRead:
    """Return the upload's state and outcome; finish storing it if a crash interrupted that."""
    info = service.owned(session, store, principal=principal, upload_id=upload_id)
    if info.state == RECEIVED:
        info = store_upload(ingestor, store, upload_id, principal)
    return service.read(info)


@router.get("/batches/{key}")
def batch(key: str, session: DbSession, principal: Uploader) -> BatchRead:
    """Return how many files of a batch are stored and whether it is final."""
    return service.batch_status(session, principal=principal, key=key)


@router.post("/batches/{key}/finalize")
def finalize(key: str, session: DbSession, principal: Uploader) -> BatchRead:
    """Confirm a batch is whole (readers then see its studies), or 409 with what is missing."""
    return service.finalize(session, principal=principal, key=key)
