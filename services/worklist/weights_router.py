"""Consortium admins read and set their consortium's worklist priority weights.

The consortium is the caller's own (from the token): no URL names another tenant, so another
consortium's admin can neither read nor set these weights.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from services.auth.dependencies import require_roles
from services.auth.principal import Principal
from services.domain.roles import ADMIN_ROLES
from services.kit.http import DbSession
from services.worklist import weights
from services.worklist.weights_schemas import WeightsBody

router = APIRouter(prefix="/api/v1/worklist-weights", tags=["worklist"])
Admin = Annotated[Principal, Depends(require_roles(*ADMIN_ROLES))]


@router.get("", response_model=WeightsBody)
def get_weights(session: DbSession, principal: Admin) -> WeightsBody:
    """Return the consortium's priority weights (defaults where never set)."""
    assert principal.tenant_id is not None
    return WeightsBody.of(weights.weights_of(session, principal.tenant_id))


@router.put("", response_model=WeightsBody)
def put_weights(session: DbSession, principal: Admin, body: WeightsBody) -> WeightsBody:
    """Set the consortium's weights; a worker then re-scores its open items."""
    stored = weights.set_weights(session, principal=principal, weights=body.to_domain())
    return WeightsBody.of(stored)
