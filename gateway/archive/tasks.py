"""Celery task: archive a registered study (queue "default"; loaded through Celery ``include``)."""

from __future__ import annotations

import uuid

from gateway.api.dependencies import object_store, orthanc_client
from gateway.archive.runner import archive_study
from gateway.orthanc.errors import OrthancUnavailable
from services.contracts.task_names import ARCHIVE_STUDY
from services.kit.celery import task
from services.kit.settings import get_settings


@task(ARCHIVE_STUDY, retry_on=(OrthancUnavailable,))
def archive_study_task(study_id: str) -> str:
    """Archive the study to the object store; return the resulting status."""
    outcome = archive_study(
        uuid.UUID(study_id), orthanc=orthanc_client(), store=object_store(), settings=get_settings()
    )
    return outcome.status
