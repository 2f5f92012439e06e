"""Celery tasks: archive a study; take expired ones offline (queue "default", via ``include``)."""

from __future__ import annotations

import uuid

from gateway.api.dependencies import object_store, orthanc_client
from gateway.archive.purge import purge_expired
from gateway.archive.runner import archive_study
from gateway.orthanc.errors import OrthancUnavailable
from services.contracts.task_names import ARCHIVE_STUDY, PURGE_EXPIRED_STUDIES
from services.kit.celery import task
from services.kit.settings import get_settings


@task(ARCHIVE_STUDY, retry_on=(OrthancUnavailable,))
def archive_study_task(study_id: str) -> str:
    """Archive the study to the object store; return the resulting status."""
    outcome = archive_study(
        uuid.UUID(study_id), orthanc=orthanc_client(), store=object_store(), settings=get_settings()
    )
    return outcome.status


@task(PURGE_EXPIRED_STUDIES, retry_on=(OrthancUnavailable,), max_retries=2)
def purge_expired_studies_task() -> dict[str, int]:
    """Take studies past their online retention out of Orthanc once their archive is proven."""
    report = purge_expired(orthanc=orthanc_client(), store=object_store())
    return {"purged": len(report.purged), **{f"kept_{k}": v for k, v in report.kept.items()}}
