"""Worklist endpoints for radiologists: filtered pages, counts, live events, claim, release."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from sse_starlette import EventSourceResponse

from services.auth.dependencies import require_roles
from services.auth.principal import Principal
from services.domain.priority_band import band_of
from services.domain.roles import READER_ROLES
from services.kit.errors import NotFound
from services.kit.http import DbSession
from services.models import WorklistItem
from services.worklist import live, query, service
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
Reader = Annotated[Principal, Depends(require_roles(*READER_ROLES))]
BodyPart = Annotated[str | None, Query(pattern=r"^[A-Za-z0-9 _]{1,64}$")]


def _read(item: WorklistItem) -> WorklistItemRead:
    return WorklistItemRead(
        id=item.id,
        study_id=item.study_id,
        clinic_org_id=item.clinic_org_id,
        status=item.status,
        priority=item.priority,
        priority_band=band_of(item.priority).value,
        priority_reason=item.priority_reason,
        ai_flag=item.ai_flag,
        due_at=item.due_at,
        claimed_by_id=item.claimed_by_id,
        lock_expires_at=item.lock_expires_at,
        created_at=item.created_at,
        patient_name=item.patient_name,
        patient_id=item.patient_id,
        patient_type=item.patient_type,
        modality=item.modality,
        body_part=item.body_part,
        study_description=item.study_description,
        accession_number=item.accession_number,
    )


@router.get("", response_model=WorklistPage)
def list_worklist(  # noqa: PLR0913 - one parameter per documented filter
    *,
    session: DbSession,
    principal: Reader,
    view: View = "all_unread",
    status: ItemStatus | None = None,
    band: Band | None = None,
    modality: Modality | None = None,
    body_part: BodyPart = None,
    clinic: uuid.UUID | None = None,
    patient_type: PatientType | None = None,
    ai_flag: AiFlag | None = None,
    due: Due | None = None,
    q: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> WorklistPage:
    """List the hospital's worklist, highest priority first, then oldest; see query.py."""
    wanted = query.WorklistQuery(
        view=view,
        status=status,
        band=band,
        modality=modality,
        body_part=body_part.upper() if body_part else None,
        clinic_org_id=clinic,
        patient_type=patient_type,
        ai_flag=ai_flag,
        due=due,
        q=q,
    )
    page = query.list_page(
        session, principal=principal, query=wanted, limit=limit, page_cursor=cursor
    )
    return WorklistPage(items=[_read(i) for i in page.items], next_cursor=page.next_cursor)


@router.get("/counts", response_model=WorklistCounts)
def counts(session: DbSession, principal: Reader) -> WorklistCounts:
    """Count the hospital's items per status, and the open ones that are overdue."""
    result = query.counts(session, principal=principal)
    return WorklistCounts(by_status=result.by_status, overdue=result.overdue)


async def _stream(principal: Principal) -> AsyncIterator[dict[str, Any]]:
    assert principal.tenant_id is not None
    assert principal.organization_id is not None
    hub = live.hub()
    sub = await asyncio.to_thread(
        hub.subscribe,
        tenant_id=principal.tenant_id,
        reader_org_id=principal.organization_id,
        loop=asyncio.get_running_loop(),
    )
    try:
        yield {"event": "ready", "data": "{}"}
        while True:
            event = await sub.queue.get()
            yield {"event": event.kind, "id": str(event.id), "data": json.dumps(event.payload())}
    finally:
        hub.unsubscribe(sub)


@router.get("/events")
def events(principal: Reader) -> EventSourceResponse:
    """Stream server-sent events about the hospital's items; the first event is ``ready``.

    Events: created, reprioritized, claimed, released, reported; data holds the item id,
    status and priority only.
    """
    if principal.tenant_id is None or principal.organization_id is None:
        raise NotFound("Your account belongs to no reading hospital, so it has no worklist.")
    return EventSourceResponse(_stream(principal), ping=15)


@router.post("/{item_id}/claim", response_model=WorklistItemRead)
def claim(session: DbSession, principal: Reader, item_id: uuid.UUID) -> WorklistItemRead:
    """Lock an item for the caller; 409 when another reader holds it."""
    return _read(service.claim(session, principal=principal, item_id=item_id))


@router.post("/{item_id}/release", response_model=WorklistItemRead)
def release(session: DbSession, principal: Reader, item_id: uuid.UUID) -> WorklistItemRead:
    """Give a claimed item back to the queue."""
    return _read(service.release(session, principal=principal, item_id=item_id))
