"""Each consortium's priority weights, kept in the tenant's settings like its sign-off rule.

Setting new weights queues ``worklist.rescore_tenant`` after the commit: a worker re-scores the
consortium's open items in bounded batches, so a request never waits on thousands of rows.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict

from sqlalchemy.orm import Session

from services.audit import service as audit
from services.auth.principal import Principal
from services.contracts.task_names import QUEUE_DEFAULT
from services.domain.priority import PriorityWeights, out_of_range
from services.kit.db import enqueue
from services.kit.errors import InvalidInput
from services.models import Tenant

SETTINGS_KEY = "priority_weights"
RESCORE_TENANT = "worklist.rescore_tenant"


def weights_of(session: Session, tenant_id: uuid.UUID) -> PriorityWeights:
    """Return the consortium's weights (defaults for any weight it never set)."""
    tenant = session.get(Tenant, tenant_id)
    raw = (tenant.settings or {}).get(SETTINGS_KEY, {}) if tenant else {}
    known = {name: int(raw[name]) for name in PriorityWeights.names() if name in raw}
    return PriorityWeights(**known)


def set_weights(
    session: Session, *, principal: Principal, weights: PriorityWeights
) -> PriorityWeights:
    """Store the caller's consortium's weights (audited) and queue the re-scoring."""
    problems = out_of_range(weights)
    if problems:
        raise InvalidInput("; ".join(problems) + ".")
    assert principal.tenant_id is not None
    tenant = session.get(Tenant, principal.tenant_id)
    assert tenant is not None
    before = weights_of(session, tenant.id)
    # A new dict, so the JSON column is seen as changed.
    tenant.settings = {**(tenant.settings or {}), SETTINGS_KEY: asdict(weights)}
    audit.record(
        session,
        actor=principal.actor,
        action="priority_weights.changed",
        object_type="tenant",
        object_id=tenant.id,
        tenant_id=tenant.id,
        detail={"before": asdict(before), "after": asdict(weights)},
    )
    session.flush()
    if weights != before:
        enqueue(session, RESCORE_TENANT, queue=QUEUE_DEFAULT, tenant_id=str(tenant.id))
    return weights
