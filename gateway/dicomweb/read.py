"""DICOMweb read access for viewers: QIDO-RS from our records, WADO-RS proxied to Orthanc.

Every request is resolved first (``access.resolve``): valid UIDs, a study the caller may read,
the only Orthanc study under that UID, and series/instances that belong to it. Only then is the
loopback Orthanc asked, with timeouts, and its answer streamed back. Orthanc's own URLs never
leak: JSON answers are rewritten to the gateway's DICOMweb root.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, StreamingResponse
from sqlalchemy.orm import Session
from starlette.background import BackgroundTask

from gateway.api.dependencies import Orthanc
from gateway.dicomweb import access, ai_series, qido, repository
from gateway.dicomweb.access import Target
from gateway.dicomweb.upstream import OrthancDicomWeb, Streamed, orthanc_dicomweb
from gateway.orthanc.port import OrthancPort
from services.auth.dependencies import Scope, require_roles
from services.auth.principal import Principal, TenantScope
from services.domain.roles import CLINICAL_ROLES
from services.kit.errors import InvalidInput
from services.kit.http import DbSession

router = APIRouter(tags=["dicomweb"])  # included under /dicomweb by gateway.dicomweb.router
Reader = Annotated[Principal, Depends(require_roles(*CLINICAL_ROLES))]
Upstream = Annotated[OrthancDicomWeb, Depends(orthanc_dicomweb)]

DICOM_JSON = "application/dicom+json"
MULTIPART_DICOM = 'multipart/related; type="application/dicom"'
OCTET_PARTS = 'multipart/related; type="application/octet-stream"'
_FRAMES = re.compile(r"^[1-9][0-9]{0,5}(,[1-9][0-9]{0,5}){0,99}$")
_VIEWPORT = re.compile(r"^[1-9][0-9]{0,3},[1-9][0-9]{0,3}$")
_WINDOW = re.compile(r"^-?[0-9]{1,6}(\.[0-9]{1,3})?,[0-9]{1,6}(\.[0-9]{1,3})?(,[a-z]{1,12})?$")
_BULK = re.compile(r"^[0-9A-Fa-f]{8}(/[0-9]{1,4}/[0-9A-Fa-f]{8}){0,4}$")
_RENDERED_TYPES = ("image/jpeg", "image/png", "image/gif")
THUMBNAIL_VIEWPORT = "128,128"


@dataclass
class ReadContext:
    """Everything a read request carries: caller, scope, database session, back ends."""

    request: Request
    session: Session
    scope: TenantScope
    principal: Principal
    upstream: OrthancDicomWeb
    orthanc: OrthancPort

    def resolve(self, action: str, study: str, series: str = "", instance: str = "") -> Target:
        """Authorize the request for one study (see ``access.resolve``)."""
        return access.resolve(
            self.session,
            upstream=self.upstream,
            principal=self.principal,
            scope=self.scope,
            action=action,
            study_uid=study,
            series_uid=series,
            instance_uid=instance,
            via_item=self.request.query_params.get("via_item", "")
            or self.request.headers.get("X-RadBridge-Via-Item", ""),
        )


def _context(
    request: Request,
    session: DbSession,
    scope: Scope,
    principal: Reader,
    upstream: Upstream,
    orthanc: Orthanc,
) -> ReadContext:
    return ReadContext(request, session, scope, principal, upstream, orthanc)


Ctx = Annotated[ReadContext, Depends(_context)]


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/") + "/dicomweb"


def _accept(request: Request, default: str) -> str:
    value = request.headers.get("accept", "")
    if not value or value.strip() == "*/*" or len(value) > 400 or not value.isprintable():
        return default
    return value


def _respond(streamed: Streamed) -> StreamingResponse:
    return StreamingResponse(
        streamed.chunks(),
        media_type=streamed.media_type,
        background=BackgroundTask(streamed.close),
    )


def _stream(ctx: ReadContext, path: str, default_accept: str) -> StreamingResponse:
    return _respond(ctx.upstream.stream(path, accept=_accept(ctx.request, default_accept)))


def _json(document: Any, ctx: ReadContext) -> JSONResponse:
    body = qido.rewrite_urls(document, _base(ctx.request))
    return JSONResponse(body, media_type=DICOM_JSON)


def _rendered_params(request: Request, *, thumbnail: bool) -> dict[str, str]:
    params: dict[str, str] = {}
    viewport = request.query_params.get("viewport", THUMBNAIL_VIEWPORT if thumbnail else "")
    quality = request.query_params.get("quality", "")
    window = request.query_params.get("window", "")
    if viewport and not _VIEWPORT.match(viewport):
        raise InvalidInput("viewport must be 'width,height' in pixels (at most 9999 each).")
    if quality and not (quality.isdigit() and 1 <= int(quality) <= 100):
        raise InvalidInput("quality must be a whole number from 1 to 100.")
    if window and not _WINDOW.match(window):
        raise InvalidInput("window must be 'center,width' or 'center,width,function'.")
    for key, value in (("viewport", viewport), ("quality", quality), ("window", window)):
        if value:
            params[key] = value
    return params


def _rendered_accept(request: Request) -> str:
    value = _accept(request, "image/jpeg")
    return value if any(t in value for t in _RENDERED_TYPES) else "image/jpeg"


# --- QIDO-RS -----------------------------------------------------------------------------


@router.get("/studies", response_class=JSONResponse)
def search_studies(ctx: Ctx) -> JSONResponse:
    """QIDO-RS: search the studies the caller may read (from RadBridge's records)."""
    query = qido.parse_study_query(dict(ctx.request.query_params))
    studies = repository.search_studies(ctx.session, ctx.scope, query)
    series = repository.series_by_study(ctx.session, [s.id for s in studies])
    access.audit_search(ctx.session, principal=ctx.principal, count=len(studies))
    base = _base(ctx.request)
    document = [qido.study_json(s, series[s.id], base) for s in studies]
    return JSONResponse(document, media_type=DICOM_JSON)


@router.get("/studies/{study}/series", response_class=JSONResponse)
def search_series(ctx: Ctx, study: str) -> JSONResponse:
    """QIDO-RS: the registered series of one readable study, and its AI result series."""
    target = ctx.resolve("dicomweb.search_series", study)
    base = _base(ctx.request)
    rows: list[qido.SeriesFacts] = [*repository.series_of(ctx.session, target.study.id)]
    rows += ai_series.of_study(ctx.session, ctx.upstream, target.study)  # AI SR and GSPS
    document = [qido.series_json(target.study, s, base) for s in rows]
    return JSONResponse(document, media_type=DICOM_JSON)


@router.get("/studies/{study}/series/{series}/instances", response_class=JSONResponse)
def search_instances(ctx: Ctx, study: str, series: str) -> JSONResponse:
    """QIDO-RS: the instances of one series, proxied for the authorized study."""
    ctx.resolve("dicomweb.search_instances", study, series)
    document = ctx.upstream.read_json(f"/studies/{study}/series/{series}/instances")
    return _json(document, ctx)


# --- WADO-RS -----------------------------------------------------------------------------


@router.get("/studies/{study}")
def retrieve_study(ctx: Ctx, study: str) -> StreamingResponse:
    """WADO-RS: every instance of a study (multipart/related application/dicom)."""
    ctx.resolve("dicomweb.retrieve", study)
    return _stream(ctx, f"/studies/{study}", MULTIPART_DICOM)


@router.get("/studies/{study}/metadata", response_class=JSONResponse)
def study_metadata(ctx: Ctx, study: str) -> JSONResponse:
    """WADO-RS: the metadata of every instance of a study."""
    ctx.resolve("dicomweb.metadata", study)
    return _json(ctx.upstream.read_json(f"/studies/{study}/metadata"), ctx)


@router.get("/studies/{study}/series/{series}")
def retrieve_series(ctx: Ctx, study: str, series: str) -> StreamingResponse:
    """WADO-RS: every instance of a series."""
    ctx.resolve("dicomweb.retrieve", study, series)
    return _stream(ctx, f"/studies/{study}/series/{series}", MULTIPART_DICOM)


@router.get("/studies/{study}/series/{series}/metadata", response_class=JSONResponse)
def series_metadata(ctx: Ctx, study: str, series: str) -> JSONResponse:
    """WADO-RS: the metadata of every instance of a series."""
    ctx.resolve("dicomweb.metadata", study, series)
    return _json(ctx.upstream.read_json(f"/studies/{study}/series/{series}/metadata"), ctx)


_INSTANCE = "/studies/{study}/series/{series}/instances/{instance}"


@router.get(_INSTANCE)
def retrieve_instance(ctx: Ctx, study: str, series: str, instance: str) -> StreamingResponse:
    """WADO-RS: one instance."""
    ctx.resolve("dicomweb.retrieve", study, series, instance)
    path = f"/studies/{study}/series/{series}/instances/{instance}"
    return _stream(ctx, path, MULTIPART_DICOM)


@router.get(f"{_INSTANCE}/metadata", response_class=JSONResponse)
def instance_metadata(ctx: Ctx, study: str, series: str, instance: str) -> JSONResponse:
    """WADO-RS: the metadata of one instance."""
    ctx.resolve("dicomweb.metadata", study, series, instance)
    path = f"/studies/{study}/series/{series}/instances/{instance}/metadata"
    return _json(ctx.upstream.read_json(path), ctx)


@router.get(f"{_INSTANCE}/frames/{{frames}}")
def retrieve_frames(
    ctx: Ctx, study: str, series: str, instance: str, frames: str
) -> StreamingResponse:
    """WADO-RS: pixel data of frames ``1,2,...`` of a checked instance."""
    if not _FRAMES.match(frames):
        raise access.InvalidUid("Frame numbers must be positive integers separated by commas.")
    target = ctx.resolve("dicomweb.frames", study, series, instance)
    access.ensure_decodable(ctx.orthanc, target.instance_orthanc_id)
    path = f"/studies/{study}/series/{series}/instances/{instance}/frames/{frames}"
    accept = _accept(ctx.request, OCTET_PARTS)
    if any(t in accept for t in ("*/*", "octet-stream", "transfer-syntax=*")):
        # Orthanc 1.7's plugin refuses wildcards for frames; uncompressed little endian is what
        # a viewer asking for "any" or octet-stream can always decode.
        accept = OCTET_PARTS
    return _respond(ctx.upstream.stream(path, accept=accept))


@router.get(f"{_INSTANCE}/bulk/{{tag:path}}")
def retrieve_bulk(ctx: Ctx, study: str, series: str, instance: str, tag: str) -> StreamingResponse:
    """WADO-RS: a bulk data element named in metadata (BulkDataURI)."""
    if not _BULK.match(tag):
        raise access.InvalidUid("The bulk data path must be a DICOM tag path in hex.")
    ctx.resolve("dicomweb.bulk", study, series, instance)
    path = f"/studies/{study}/series/{series}/instances/{instance}/bulk/{tag}"
    return _stream(ctx, path, OCTET_PARTS)


def _rendered_route(kind: str, *, thumbnail: bool) -> Any:
    def endpoint(ctx: Ctx) -> StreamingResponse:
        given = ctx.request.path_params
        frame = str(given.get("frame", ""))
        if frame and not (frame.isdigit() and 0 < int(frame) < 10**6):
            raise access.InvalidUid("The frame number must be a positive integer.")
        target = ctx.resolve(
            "dicomweb.thumbnail" if thumbnail else "dicomweb.rendered",
            str(given.get("study", "")),
            str(given.get("series", "")),
            str(given.get("instance", "")),
        )
        if not target.instance_uid:
            target = access.middle_instance(ctx.upstream, target, ctx.session)
        access.ensure_decodable(ctx.orthanc, target.instance_orthanc_id)
        path = (
            f"/studies/{target.study.study_instance_uid}/series/{target.series_uid}"
            f"/instances/{target.instance_uid}"
        )
        path += f"/frames/{frame}/rendered" if frame else "/rendered"
        params = _rendered_params(ctx.request, thumbnail=thumbnail)
        streamed = ctx.upstream.stream(path, accept=_rendered_accept(ctx.request), params=params)
        return _respond(streamed)

    endpoint.__name__ = f"{'thumbnail' if thumbnail else 'rendered'}_{kind.split()[-1]}"
    endpoint.__doc__ = f"WADO-RS {'thumbnail' if thumbnail else 'rendered'} image of {kind}."
    return endpoint


for _path, _kind in (
    ("/studies/{study}", "a study"),
    ("/studies/{study}/series/{series}", "a series"),
    (_INSTANCE, "an instance"),
):
    router.add_api_route(f"{_path}/rendered", _rendered_route(_kind, thumbnail=False))
    router.add_api_route(f"{_path}/thumbnail", _rendered_route(_kind, thumbnail=True))
router.add_api_route(
    f"{_INSTANCE}/frames/{{frame}}/rendered", _rendered_route("a frame", thumbnail=False)
)
