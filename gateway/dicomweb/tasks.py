"""Celery task: release a quarantined file (queue "default"; loaded through Celery ``include``)."""

from __future__ import annotations

import uuid

from gateway.api.dependencies import object_store, orthanc_client
from gateway.dicomweb.release import release_item
from gateway.orthanc.errors import OrthancUnavailable
from services.contracts.task_names import RELEASE_QUARANTINED
from services.kit.celery import task
from services.kit.db import session_scope


@task(RELEASE_QUARANTINED, retry_on=(OrthancUnavailable,))
def release_quarantined(item_id: str) -> str:
    """Re-submit the item's stored file through the gateway checks; return its new status."""
    with session_scope() as session:
        return release_item(
            session, item_id=uuid.UUID(item_id), orthanc=orthanc_client(), store=object_store()
        )
