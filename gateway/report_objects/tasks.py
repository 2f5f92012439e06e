"""Celery tasks: a report into its study in Orthanc; key images out of it (Celery ``include``)."""

from __future__ import annotations

import uuid

from gateway.api.dependencies import orthanc_client
from gateway.dicomweb.upstream import orthanc_dicomweb
from gateway.orthanc.errors import OrthancUnavailable
from gateway.report_objects import key_images
from gateway.report_objects.store import store_report_objects
from services.contracts.task_names import CAPTURE_KEY_IMAGE, STORE_REPORT_OBJECTS
from services.kit.celery import task
from services.kit.db import session_scope
from services.kit.errors import ServiceUnavailable
from services.kit.settings import get_settings


@task(STORE_REPORT_OBJECTS, retry_on=(OrthancUnavailable,))
def store_report(*, report_id: str) -> str:
    """Write the report's SR and Encapsulated PDF into its study (idempotent)."""
    with session_scope() as session:
        stored = store_report_objects(
            session, get_settings(), orthanc_client(), report_id=uuid.UUID(report_id)
        )
    return "nothing to do" if stored is None else ",".join(stored.statuses)


@task(CAPTURE_KEY_IMAGE, retry_on=(ServiceUnavailable,))
def capture_key_image(*, key_image_id: str) -> str:
    """Render one chosen key image into the object store (idempotent)."""
    with session_scope() as session:
        return key_images.capture(
            session, get_settings(), orthanc_dicomweb(), key_image_id=uuid.UUID(key_image_id)
        )
