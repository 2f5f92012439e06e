"""Worklist endpoints for radiologists: list by priority, claim, release."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query

from services.auth.dependencies import require_roles
from services.auth.principal import Principal
from services.domain.roles import READER_ROLES
from services.kit.http import DbSession
from services.models import Study, WorklistItem
from services.worklist import service
from services.worklist.schemas import WorklistItemRead

router = APIRouter(prefix="/api/v1/worklist", tags=["worklist"])
Reader = Annotated[Principal, Depends(require_roles(*READER_ROLES))]


def _read(item: WorklistItem, study: Study) -> WorklistItemRead:
    return WorklistItemRead(
        id=item.id,
        study_id=item.study_id,
        clinic_org_id=item.clinic_org_id,
        status=item.status,
        priority=item.priority,
        priority_reason=item.priority_reason,
        ai_flag=item.ai_flag,
        due_at=item.due_at,
        claimed_by_id=item.claimed_by_id,
        lock_expires_at=item.lock_expires_at,
        created_at=item.created_at,
        patient_name=study.patient_name,
        patient_id=study.patient_id,
        modality=study.modality,
        study_description=study.description,
        accession_number=study.accession_number,
    )


@router.get("", response_model=list[WorklistItemRead])
def list_worklist(
    session: DbSession,
    principal: Reader,
    status: Literal["UNREAD", "CLAIMED", "REPORTED"] = "UNREAD",
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[WorklistItemRead]:
    """List the hospital's worklist, highest priority first, then oldest."""
    entries = service.list_for_reader(session, principal=principal, status=status, limit=limit)
    return [_read(e.item, e.study) for e in entries]


@router.post("/{item_id}/claim", response_model=WorklistItemRead)
def claim(session: DbSession, principal: Reader, item_id: uuid.UUID) -> WorklistItemRead:
    """Lock an item for the caller; 409 when another reader holds it."""
    item = service.claim(session, principal=principal, item_id=item_id)
    study = session.get(Study, item.study_id)
    assert study is not None
    return _read(item, study)


@router.post("/{item_id}/release", response_model=WorklistItemRead)
def release(session: DbSession, principal: Reader, item_id: uuid.UUID) -> WorklistItemRead:
    """Give a claimed item back to the queue."""
    item = service.release(session, principal=principal, item_id=item_id)
    study = session.get(Study, item.study_id)
    assert study is not None
    return _read(item, study)
