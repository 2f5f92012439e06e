"""Claim and assignment endpoints beside the list/claim/release ones of ``router.py``.

Paths have two segments after the prefix so they never clash with ``/{item_id}`` routes.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from services.auth.dependencies import require_roles
from services.auth.principal import Principal
from services.domain.roles import ADMIN_ROLES, READER_ROLES, Role
from services.domain.sla import SlaLimit
from services.kit.http import DbSession
from services.worklist import assignment, claims, notifications, sla
from services.worklist.claims_schemas import (
    AgreementSettingsBody,
    AssignRequest,
    ClaimState,
    NotificationRead,
    ReaderProfileRead,
    ReaderProfileWrite,
    SlaLimitBody,
    TakeOverRequest,
)

router = APIRouter(prefix="/api/v1/worklist", tags=["worklist"])
settings_router = APIRouter(prefix="/api/v1/reading-agreements", tags=["worklist"])
Reader = Annotated[Principal, Depends(require_roles(*READER_ROLES))]
Senior = Annotated[Principal, Depends(require_roles(Role.SENIOR_RADIOLOGIST))]
Lead = Annotated[Principal, Depends(require_roles(Role.SENIOR_RADIOLOGIST, *ADMIN_ROLES))]
Admin = Annotated[Principal, Depends(require_roles(*ADMIN_ROLES))]


@router.post("/{item_id}/renew", response_model=ClaimState)
def renew(session: DbSession, principal: Reader, item_id: uuid.UUID) -> ClaimState:
    """Extend the caller's lock while they keep working; 409 when they do not hold it."""
    return ClaimState.model_validate(claims.renew(session, principal=principal, item_id=item_id))


@router.post("/{item_id}/take-over", response_model=ClaimState)
def take_over(
    session: DbSession, principal: Senior, item_id: uuid.UUID, body: TakeOverRequest
) -> ClaimState:
    """Take another reader's lock (senior radiologists only; audited)."""
    item = claims.take_over(session, principal=principal, item_id=item_id, reason=body.reason)
    return ClaimState.model_validate(item)


@router.post("/{item_id}/assign", response_model=ClaimState)
def assign(
    session: DbSession, principal: Lead, item_id: uuid.UUID, body: AssignRequest
) -> ClaimState:
    """Push an item to a reader (named, or least-loaded with the subspecialty)."""
    item = assignment.assign(session, principal=principal, item_id=item_id, user_id=body.user_id)
    return ClaimState.model_validate(item)


@router.put("/readers/{user_id}", response_model=ReaderProfileRead)
def set_reader_profile(
    session: DbSession, principal: Lead, user_id: uuid.UUID, body: ReaderProfileWrite
) -> ReaderProfileRead:
    """Set a reader's subspecialties and push capacity."""
    profile = assignment.set_profile(
        session,
        principal=principal,
        user_id=user_id,
        subspecialties=body.subspecialties,
        max_open_items=body.max_open_items,
        accepts_push=body.accepts_push,
    )
    return ReaderProfileRead.model_validate(profile)


@router.get("/notifications/mine", response_model=list[NotificationRead])
def my_notifications(
    session: DbSession, principal: Reader, limit: Annotated[int, Query(ge=1, le=200)] = 50
) -> list[NotificationRead]:
    """List the newest notifications of the caller's reading group and of the caller."""
    notes = notifications.for_reader(session, principal=principal, limit=limit)
    return [NotificationRead.model_validate(n) for n in notes]


def _body(value: sla.AgreementSettings) -> AgreementSettingsBody:
    return AgreementSettingsBody(
        assignment_mode="push" if value.assignment_mode == "push" else "pull",
        lock_minutes=value.lock_minutes,
        sla_warn_minutes=value.sla_warn_minutes,
        limits={
            c: SlaLimitBody(minutes=v.minutes, working_hours=v.working_hours)
            for c, v in value.limits.items()
        },
    )


@settings_router.get("/{agreement_id}/reading-settings", response_model=AgreementSettingsBody)
def get_settings(
    session: DbSession, principal: Admin, agreement_id: uuid.UUID
) -> AgreementSettingsBody:
    """Return an agreement's assignment mode, lock time, warning time and time limits."""
    return _body(sla.settings_of(session, principal=principal, agreement_id=agreement_id))


@settings_router.put("/{agreement_id}/reading-settings", response_model=AgreementSettingsBody)
def put_settings(
    session: DbSession, principal: Admin, agreement_id: uuid.UUID, body: AgreementSettingsBody
) -> AgreementSettingsBody:
    """Replace an agreement's reading settings (limits not named keep their current value)."""
    value = sla.AgreementSettings(
        assignment_mode=body.assignment_mode,
        lock_minutes=body.lock_minutes,
        sla_warn_minutes=body.sla_warn_minutes,
        limits={c: SlaLimit(v.minutes, v.working_hours) for c, v in body.limits.items()},
    )
    saved = sla.update_settings(
        session, principal=principal, agreement_id=agreement_id, settings=value
    )
    return _body(saved)
