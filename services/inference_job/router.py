"""Admin endpoints for AI jobs that failed for good: list them, replay one."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from services.auth.dependencies import Scope, require_roles
from services.auth.principal import Principal
from services.domain.roles import Role
from services.inference_job import dead_letters
from services.inference_job.schemas import DeadLetterRead, ReplayRead
from services.kit.http import DbSession

router = APIRouter(prefix="/api/v1/ai/dead-letters", tags=["ai"])
Admin = Annotated[Principal, Depends(require_roles(Role.CONSORTIUM_ADMIN))]


@router.get("", response_model=list[DeadLetterRead])
def list_dead_letters(
    session: DbSession,
    _admin: Admin,
    scope: Scope,
    model: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[DeadLetterRead]:
    """List the consortium's AI jobs that failed for good, most recent first."""
    letters = dead_letters.list_dead_letters(session, scope=scope, limit=limit, model_name=model)
    return [DeadLetterRead.model_validate(letter) for letter in letters]


@router.post("/{job_id}/replay", response_model=ReplayRead, status_code=202)
def replay_dead_letter(
    session: DbSession, admin: Admin, scope: Scope, job_id: uuid.UUID
) -> ReplayRead:
    """Queue a failed AI job again; its study shows AI_PENDING until the run ends."""
    job = dead_letters.replay(session, scope=scope, principal=admin, job_id=job_id)
    return ReplayRead(
        job_id=job.id,
        study_id=job.study_id,
        status=job.status,
        model_name=job.model_name,
        model_version=job.model_version,
    )
