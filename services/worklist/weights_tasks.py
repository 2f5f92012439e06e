"""Worker task re-scoring a consortium's open items after its weights changed."""

from __future__ import annotations

import uuid

from services.contracts.task_names import QUEUE_DEFAULT
from services.kit.celery import task
from services.kit.db import session_scope
from services.worklist import rescore
from services.worklist.weights import RESCORE_TENANT


@task(RESCORE_TENANT, queue=QUEUE_DEFAULT)
def rescore_tenant(*, tenant_id: str) -> int:
    """Re-score every open item of a tenant, one short transaction per batch; return batches."""
    after: uuid.UUID | None = None
    batches = 0
    while True:
        with session_scope() as session:
            after = rescore.rescore_tenant_batch(
                session, tenant_id=uuid.UUID(tenant_id), after=after
            )
        batches += 1
        if after is None:
            return batches
