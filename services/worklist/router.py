"""Worklist endpoints for radiologists: filtered pages, counts, live events, claim, release.

The list, counts, claim and release are the hot paths of a reading day. Each does its whole job
(token check, role check, query, JSON) in ONE worker-thread call: FastAPI would otherwise hop
to its thread pool once per synchronous dependency and again for the endpoint, and on a busy
two-core host each hop may wait for a scheduler slice.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Header, Query, Response
from sse_starlette import EventSourceResponse
from starlette.concurrency import run_in_threadpool

from services.auth.dependencies import BearerToken, authorize
from services.domain.roles import READER_ROLES
from services.kit.clock import utc_now
from services.kit.errors import NotFound
from services.kit.http import request_session
from services.worklist import item_read, live, query, service
from services.worklist.schemas import (
    AiFlag,
    Band,
    Due,
    ItemStatus,
    Modality,
    PatientType,
    View,
    WorklistCounts,
    WorklistItemRead,
    WorklistPage,
)

router = APIRouter(prefix="/api/v1/worklist", tags=["worklist"])
BodyPart = Annotated[str | None, Query(pattern=r"^[A-Za-z0-9 _]{1,64}$")]
READERS = frozenset(READER_ROLES)
_JSON = "application/json"


def _page(token: str, wanted: query.WorklistQuery, limit: int, cursor: str | None) -> bytes:
    with request_session(read_only=True) as session:
        principal = authorize(session, token, READERS)
        page = query.list_page(
            session, principal=principal, query=wanted, limit=limit, page_cursor=cursor
        )
        held = {i for row in page.items for i in (row.claimed_by_id, row.assigned_to_id) if i}
        names = service.display_names(session, held)
        now = utc_now()
        items = [item_read.to_fields(row, now=now, names=names) for row in page.items]
    return item_read.page_json(items, page.next_cursor)


@router.get("", response_model=WorklistPage)
async def list_worklist(  # noqa: PLR0913 - one parameter per documented filter
    *,
    token: BearerToken,
    view: View = "all_unread",
    status: ItemStatus | None = None,
    band: Band | None = None,
    modality: Modality | None = None,
    body_part: BodyPart = None,
    clinic: uuid.UUID | None = None,
    patient_type: PatientType | None = None,
    ai_flag: AiFlag | None = None,
    critical: bool | None = None,
    due: Due | None = None,
    q: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Response:
    """List the hospital's worklist, highest priority first, then oldest; see query.py.

    ``critical=true`` lists only items with a critical value (AI or declared by a reader).
    """
    wanted = query.WorklistQuery(
        view=view,
        status=status,
        band=band,
        modality=modality,
        body_part=body_part.upper() if body_part else None,
        clinic_org_id=clinic,
        patient_type=patient_type,
        ai_flag=ai_flag,
        critical=critical,
        due=due,
        q=q,
    )
    body = await run_in_threadpool(_page, token, wanted, limit, cursor)
    return Response(body, media_type=_JSON)


def _counts(token: str) -> WorklistCounts:
    with request_session(read_only=True) as session:
        principal = authorize(session, token, READERS)
        result = query.counts(session, principal=principal)
    return WorklistCounts(by_status=result.by_status, overdue=result.overdue)


@router.get("/counts", response_model=WorklistCounts)
async def counts(token: BearerToken) -> WorklistCounts:
    """Count the hospital's items per status, and the open ones that are overdue."""
    return await run_in_threadpool(_counts, token)


def _listener(token: str) -> live.Listener:
    with request_session(read_only=True) as session:
        principal = authorize(session, token, READERS)
    if principal.tenant_id is None or principal.organization_id is None:
        raise NotFound("Your account belongs to no reading hospital, so it has no worklist.")
    return live.Listener(tenant_id=principal.tenant_id, reader_org_id=principal.organization_id)


@router.get("/events")
async def events(
    token: BearerToken,
    last_event_id: Annotated[str | None, Header(max_length=32)] = None,
) -> EventSourceResponse:
    """Stream server-sent events about the hospital's items; the first event is ``ready``.

    Events: created, reprioritized, claimed, released, reported; data holds the item id,
    status and priority only. Each event has an ``id``: a client reconnecting with
    ``Last-Event-ID`` (browsers do this by themselves) first gets the events it missed, then
    the live ones. When the missed events are no longer kept, a ``reset`` event tells the client
    to reload its list instead.
    """
    after = live.parse_last_event_id(last_event_id)
    listener = await run_in_threadpool(_listener, token)
    return EventSourceResponse(listener.stream(after), ping=15)


def _claim(token: str, item_id: uuid.UUID, release: bool) -> WorklistItemRead:
    with request_session() as session:
        principal = authorize(session, token, READERS)
        if release:
            item = service.release(session, principal=principal, item_id=item_id)
        else:
            item = service.claim(session, principal=principal, item_id=item_id)
        names = service.holder_names(session, item=item, principal=principal)
        return item_read.to_read(item, now=utc_now(), names=names)


@router.post("/{item_id}/claim", response_model=WorklistItemRead)
async def claim(token: BearerToken, item_id: uuid.UUID) -> WorklistItemRead:
    """Lock an item for the caller; 409 when another reader holds it."""
    return await run_in_threadpool(_claim, token, item_id, False)


@router.post("/{item_id}/release", response_model=WorklistItemRead)
async def release(token: BearerToken, item_id: uuid.UUID) -> WorklistItemRead:
    """Give a claimed item back to the queue."""
    return await run_in_threadpool(_claim, token, item_id, True)
