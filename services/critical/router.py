"""Critical-value endpoints: the consortium list, declarations, the phone log, acknowledgement."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, status
from sqlalchemy.orm import Session

from services.auth.dependencies import Scope, require_roles
from services.auth.principal import Principal
from services.critical import catalogue, repository, service
from services.critical.schemas import (
    AlertRead,
    CallCreate,
    CallRead,
    CriticalResultRead,
    Declaration,
    DefinitionCreate,
    DefinitionRead,
)
from services.domain.roles import ADMIN_ROLES, CLINIC_ROLES, CLINICAL_ROLES, READER_ROLES
from services.kit.errors import Forbidden
from services.kit.http import DbSession
from services.models import CriticalResult
from services.study import service as study_service

router = APIRouter(prefix="/api/v1", tags=["critical values"])
Reader = Annotated[Principal, Depends(require_roles(*READER_ROLES))]
Clinical = Annotated[Principal, Depends(require_roles(*CLINICAL_ROLES))]
Admin = Annotated[Principal, Depends(require_roles(*ADMIN_ROLES))]
ClinicPerson = Annotated[Principal, Depends(require_roles(*CLINIC_ROLES))]


def _tenant(principal: Principal) -> uuid.UUID:
    if principal.tenant_id is None:
        raise Forbidden("Critical values belong to a consortium; sign in as one of its users.")
    return principal.tenant_id


def _read(session: Session, result: CriticalResult) -> CriticalResultRead:
    calls = repository.calls(session, result.id)
    return CriticalResultRead.model_validate(result).model_copy(
        update={
            "calls": [CallRead.model_validate(c) for c in calls],
            "alerts": [AlertRead.model_validate(a) for a in repository.alerts(session, result.id)],
            "call_documented": any(c.read_back_confirmed for c in calls),
        }
    )


@router.get("/critical-values", response_model=list[DefinitionRead])
def list_definitions(session: DbSession, principal: Clinical) -> list[DefinitionRead]:
    """Return the consortium's active critical-value list."""
    rows = catalogue.definitions(session, _tenant(principal))
    return [DefinitionRead.model_validate(row) for row in rows]


@router.post("/critical-values", response_model=DefinitionRead, status_code=status.HTTP_201_CREATED)
def add_definition(session: DbSession, principal: Admin, body: DefinitionCreate) -> DefinitionRead:
    """Add an entry to the consortium's list."""
    row = catalogue.add(session, _tenant(principal), **body.model_dump())
    return DefinitionRead.model_validate(row)


@router.delete("/critical-values/{code}", response_model=DefinitionRead)
def deactivate_definition(session: DbSession, principal: Admin, code: str) -> DefinitionRead:
    """Take an entry off the list (declared results keep it)."""
    return DefinitionRead.model_validate(catalogue.deactivate(session, _tenant(principal), code))


@router.post(
    "/studies/{study_id}/critical-results",
    response_model=CriticalResultRead,
    status_code=status.HTTP_201_CREATED,
)
def declare(
    session: DbSession, scope: Scope, principal: Reader, study_id: uuid.UUID, body: Declaration
) -> CriticalResultRead:
    """Declare a critical value on a study; the clinic is told once the report is signed."""
    study = study_service.get_visible(session, scope=scope, principal=principal, study_id=study_id)
    result = service.declare(
        session, study=study, code=body.code, actor=principal.actor, note=body.note
    )
    return _read(session, result)


@router.get("/studies/{study_id}/critical-results", response_model=list[CriticalResultRead])
def of_study(
    session: DbSession, scope: Scope, principal: Clinical, study_id: uuid.UUID
) -> list[CriticalResultRead]:
    """Return a study's critical results with their phone logs."""
    study = study_service.get_visible(session, scope=scope, principal=principal, study_id=study_id)
    return [_read(session, r) for r in repository.of_study(session, study.id)]


@router.get(
    "/critical-results",
    response_model=list[CriticalResultRead],
    dependencies=[Depends(require_roles(*CLINICAL_ROLES))],
)
def listed(
    session: DbSession,
    scope: Scope,
    state: Annotated[Literal["OPEN", "ACKNOWLEDGED"] | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[CriticalResultRead]:
    """Return critical results of the clinics the caller may see, newest first."""
    rows = repository.listed(session, scope, status=state, limit=limit)
    return [_read(session, r) for r in rows]


@router.get("/critical-results/{result_id}", response_model=CriticalResultRead)
def get_one(
    session: DbSession, scope: Scope, principal: Clinical, result_id: uuid.UUID
) -> CriticalResultRead:
    """Return one critical result."""
    result = service.get_scoped(session, scope=scope, principal=principal, result_id=result_id)
    return _read(session, result)


@router.post(
    "/critical-results/{result_id}/calls",
    response_model=CriticalResultRead,
    status_code=status.HTTP_201_CREATED,
)
def log_call(
    session: DbSession, scope: Scope, principal: Reader, result_id: uuid.UUID, body: CallCreate
) -> CriticalResultRead:
    """Document the phone call that passed the critical value on."""
    result = service.get_scoped(session, scope=scope, principal=principal, result_id=result_id)
    service.log_call(session, result=result, principal=principal, **body.model_dump())
    return _read(session, result)


@router.post("/critical-results/{result_id}/acknowledge", response_model=CriticalResultRead)
def acknowledge(
    session: DbSession, scope: Scope, principal: ClinicPerson, result_id: uuid.UUID
) -> CriticalResultRead:
    """Confirm, as the sending clinic, that the critical result was received."""
    result = service.acknowledge(session, scope=scope, principal=principal, result_id=result_id)
    return _read(session, result)
