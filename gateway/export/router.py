"""API for consortium administrators: request a de-identified export, then follow it.

The request only selects (inside the caller's consortium), audits and queues; the worker
fetches, de-identifies and writes. Status is read back from the export's audit events.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from gateway.export import repository
from gateway.export.manifest import MANIFEST_NAME
from gateway.export.selection import (
    ACTION,
    Exporter,
    ExportForbidden,
    Selection,
    select_studies,
)
from gateway.export.tasks import export_prefix
from services.audit import service as audit
from services.auth.dependencies import require_roles
from services.auth.principal import Principal
from services.contracts.task_names import EXPORT_DEIDENTIFIED
from services.domain.roles import Role
from services.kit.db import enqueue
from services.kit.errors import NotFound
from services.kit.http import DbSession
from services.kit.ids import new_id

router = APIRouter(prefix="/api/v1/exports", tags=["export"])
Admin = Annotated[Principal, Depends(require_roles(Role.CONSORTIUM_ADMIN))]
REQUESTED = "export.requested"
DATE = r"^\d{8}$"


class ExportCreate(BaseModel):
    """Which studies to export (ids, accession numbers and/or a filter)."""

    study_ids: list[uuid.UUID] = Field(default_factory=list, max_length=10_000)
    accession_numbers: list[str] = Field(default_factory=list, max_length=10_000)
    modality: str | None = Field(default=None, max_length=16)
    date_from: str | None = Field(default=None, pattern=DATE)
    date_to: str | None = Field(default=None, pattern=DATE)
    allow_burned_in: bool = False


class ExportRead(BaseModel):
    """An export and where its files are (object store keys)."""

    export_id: uuid.UUID
    status: Literal["QUEUED", "DONE", "FAILED"]
    studies: int
    files: int = 0
    blocked: int = 0
    manifest_key: str


def _exporter(principal: Principal) -> Exporter:
    if principal.user_id is None or principal.tenant_id is None:
        raise ExportForbidden("exports are requested by a person, not a machine client")
    return Exporter(principal.actor, principal.user_id, principal.tenant_id)


@router.post("", status_code=202)
def request_export(body: ExportCreate, session: DbSession, principal: Admin) -> ExportRead:
    """Queue a de-identified export of studies of the caller's consortium."""
    exporter = _exporter(principal)
    selection = Selection(
        study_ids=tuple(body.study_ids),
        accessions=tuple(body.accession_numbers),
        modality=body.modality,
        date_from=body.date_from,
        date_to=body.date_to,
    )
    refs = select_studies(session, exporter, selection)
    export_id = new_id()
    audit.record(
        session,
        actor=exporter.actor,
        action=REQUESTED,
        object_type="export",
        object_id=export_id,
        tenant_id=exporter.tenant_id,
        detail={"studies": len(refs), "allow_burned_in": body.allow_burned_in},
    )
    enqueue(
        session,
        EXPORT_DEIDENTIFIED,
        export_id=str(export_id),
        user_id=str(exporter.user_id),
        study_ids=[str(r.study_id) for r in refs],
        allow_burned_in=body.allow_burned_in,
    )
    manifest_key = export_prefix(str(export_id)) + MANIFEST_NAME
    return ExportRead(
        export_id=export_id, status="QUEUED", studies=len(refs), manifest_key=manifest_key
    )


@router.get("/{export_id}")
def read_export(export_id: uuid.UUID, session: DbSession, principal: Admin) -> ExportRead:
    """Return an export of the caller's consortium (404 for any other)."""
    if principal.tenant_id is None:
        raise NotFound(f"export {export_id} was not found in your consortium")
    events = repository.export_events(session, principal.tenant_id, export_id, (REQUESTED, ACTION))
    requested = events.get(REQUESTED)
    if requested is None:
        raise NotFound(f"export {export_id} was not found in your consortium")
    done = events.get(ACTION)
    detail = done.detail if done is not None else {}
    status: Literal["QUEUED", "DONE", "FAILED"] = (
        "QUEUED" if done is None else "DONE" if done.outcome == "success" else "FAILED"
    )
    return ExportRead(
        export_id=export_id,
        status=status,
        studies=int(requested.detail.get("studies", 0)),
        files=int(detail.get("files", 0)),
        blocked=int(detail.get("blocked", 0)),
        manifest_key=export_prefix(str(export_id)) + MANIFEST_NAME,
    )
