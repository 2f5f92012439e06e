"""Prior studies of the same patient across the consortium, on a study or a worklist item.

Listing shows every matched prior of the consortium; opening one from a clinic outside the
caller's reading agreements goes through the current study's worklist item
(``services.worklist.priors.open_prior``).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from services.auth import service as auth_service
from services.auth.dependencies import Scope, require_roles
from services.auth.principal import Principal
from services.domain.roles import ADMIN_ROLES, READER_ROLES
from services.kit.http import DbSession
from services.models import Study
from services.study import service as study_service
from services.study.schemas import SeriesRead
from services.worklist import claims, priors
from services.worklist import repository as worklist_repository

router = APIRouter(tags=["priors"])
Reader = Annotated[Principal, Depends(require_roles(*READER_ROLES, *ADMIN_ROLES))]


class PriorRead(BaseModel):
    """An earlier study of the same patient; ``match`` says why it is listed."""

    study_id: uuid.UUID
    clinic_org_id: uuid.UUID
    match: str  # patient_id | name_birth_date (probable: different issuer)
    received_at: datetime
    study_date: str
    modality: str
    body_part: str
    description: str
    accession_number: str
    status: str
    study_url: str
    open_url: str  # opens the prior through the current item, even from a non-agreement clinic


class PriorDetail(PriorRead):
    """A prior opened through the current study's worklist item, with what a viewer needs."""

    study_instance_uid: str
    series: list[SeriesRead]


def _read(found: list[priors.Prior], item_id: uuid.UUID | None) -> list[PriorRead]:
    return [
        PriorRead(
            study_id=p.study.id,
            clinic_org_id=p.study.organization_id,
            match=p.match.value,
            received_at=p.study.received_at,
            study_date=p.study.study_date,
            modality=p.study.modality,
            body_part=p.study.body_part,
            description=p.study.description,
            accession_number=p.study.accession_number,
            status=p.study.status,
            study_url=f"/api/v1/studies/{p.study.id}",
            open_url=(
                f"/api/v1/worklist/{item_id}/priors/{p.study.id}"
                if item_id
                else f"/api/v1/studies/{p.study.id}"
            ),
        )
        for p in found
    ]


@router.get("/api/v1/studies/{study_id}/priors", response_model=list[PriorRead])
def study_priors(
    session: DbSession, scope: Scope, principal: Reader, study_id: uuid.UUID
) -> list[PriorRead]:
    """List the patient's earlier studies from any clinic of the consortium."""
    study = study_service.get_visible(session, scope=scope, principal=principal, study_id=study_id)
    item = worklist_repository.by_study(session, study.id)
    via = item.id if item and item.reader_org_id == principal.organization_id else None
    return _read(priors.priors_of(session, study=study, principal=principal), via)


@router.get("/api/v1/worklist/{item_id}/priors", response_model=list[PriorRead])
def item_priors(session: DbSession, principal: Reader, item_id: uuid.UUID) -> list[PriorRead]:
    """List the earlier studies of the patient of a worklist item of the caller's hospital."""
    is_admin = principal.has_any(ADMIN_ROLES)
    item = claims.hospital_item(
        session, principal=principal, item_id=item_id, any_hospital=is_admin
    )
    study = session.get(Study, item.study_id)
    assert study is not None
    return _read(priors.priors_of(session, study=study, principal=principal), item.id)


@router.get("/api/v1/worklist/{item_id}/priors/{study_id}", response_model=PriorDetail)
def open_item_prior(
    session: DbSession, principal: Reader, item_id: uuid.UUID, study_id: uuid.UUID
) -> PriorDetail:
    """Open a prior of the item's patient from any clinic of the consortium (audited).

    A prior from a clinic the caller's hospital does not read for opens only while the caller
    holds the claim on the item (409 ``not_claimed_by_you`` otherwise); a study that is not a
    prior of this patient, or belongs to another consortium, is 404.
    """
    is_admin = principal.has_any(ADMIN_ROLES)
    item = claims.hospital_item(
        session, principal=principal, item_id=item_id, any_hospital=is_admin
    )
    scope = auth_service.resolve_scope(session, principal)
    prior = priors.open_prior(
        session, principal=principal, scope=scope, item=item, prior_study_id=study_id
    )
    (listed,) = _read([prior], item.id)
    return PriorDetail(
        **listed.model_dump(),
        study_instance_uid=prior.study.study_instance_uid,
        series=[
            SeriesRead.model_validate(s) for s in study_service.series(session, study=prior.study)
        ],
    )
