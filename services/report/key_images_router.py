"""Key-image endpoints: choose the images printed with a report draft, see their capture."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from services.auth.dependencies import Scope, require_roles
from services.auth.principal import Principal
from services.domain.roles import CLINICAL_ROLES, READER_ROLES
from services.kit.http import DbSession
from services.report import key_images, service
from services.report.exceptions import ReportNotFound
from services.study import service as study_service

router = APIRouter(prefix="/api/v1/studies/{study_id}/report/key-images", tags=["reports"])
Reader = Annotated[Principal, Depends(require_roles(*READER_ROLES))]
Clinical = Annotated[Principal, Depends(require_roles(*CLINICAL_ROLES))]
UID = r"^[0-9]+(\.[0-9]+)*$"


class KeyImageChoice(BaseModel):
    """One image of the study: series, instance and (for multi-frame) frame."""

    model_config = ConfigDict(extra="forbid")

    series_instance_uid: str = Field(max_length=64, pattern=UID)
    sop_instance_uid: str = Field(max_length=64, pattern=UID)
    frame: int = Field(default=1, ge=1, le=10000)
    caption: str = Field(default="", max_length=200)


class KeyImageSelection(BaseModel):
    """The draft's key images, in print order."""

    model_config = ConfigDict(extra="forbid")

    images: list[KeyImageChoice] = Field(max_length=key_images.MAX_KEY_IMAGES)


class KeyImageRead(BaseModel):
    """A chosen image and whether the gateway has rendered it for printing."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    position: int
    series_instance_uid: str
    sop_instance_uid: str
    frame: int
    caption: str
    captured_at: datetime | None
    error: str


@router.put("", response_model=list[KeyImageRead])
def choose(
    session: DbSession,
    scope: Scope,
    principal: Reader,
    study_id: uuid.UUID,
    body: KeyImageSelection,
) -> list[KeyImageRead]:
    """Replace the draft's key images (at most four); the caller must hold the claim."""
    study = study_service.get_visible(session, scope=scope, principal=principal, study_id=study_id)
    choices = [key_images.Choice(**image.model_dump()) for image in body.images]
    rows = key_images.choose(session, principal=principal, study=study, choices=choices)
    return [KeyImageRead.model_validate(row) for row in rows]


@router.get("", response_model=list[KeyImageRead])
def listed(
    session: DbSession, scope: Scope, principal: Clinical, study_id: uuid.UUID
) -> list[KeyImageRead]:
    """Return the key images of the newest report version."""
    study = study_service.get_visible(session, scope=scope, principal=principal, study_id=study_id)
    report = service.latest(session, study_id=study.id)
    if report is None:
        raise ReportNotFound("This study has no report yet.")
    return [KeyImageRead.model_validate(r) for r in key_images.of_report(session, report.id)]
