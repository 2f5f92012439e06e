"""Celery tasks of the ingest side (queue "default"; loaded through Celery ``include``)."""

from __future__ import annotations

import uuid

from gateway.api.dependencies import orthanc_client
from gateway.ingest.held_studies import delete_held_study, release_held_study
from gateway.ingest.reconcile import build_reconciler
from gateway.orthanc.errors import OrthancUnavailable
from services.contracts.task_names import DELETE_HELD_STUDY, RECONCILE_ORTHANC, RELEASE_HELD_STUDY
from services.kit.celery import task
from services.kit.db import session_scope
from services.kit.settings import get_settings
from services.study.routing import configured_routes


@task(RELEASE_HELD_STUDY, retry_on=(OrthancUnavailable,))
def release_held_study_task(item_id: str) -> str:
    """Register a study held in quarantine for the clinic the admin chose."""
    with session_scope() as session:
        return release_held_study(
            session,
            item_id=uuid.UUID(item_id),
            orthanc=orthanc_client(),
            routes=configured_routes(get_settings()),
        )


@task(DELETE_HELD_STUDY, retry_on=(OrthancUnavailable,))
def delete_held_study_task(item_id: str) -> str:
    """Remove a study held in quarantine from Orthanc (study level)."""
    with session_scope() as session:
        return delete_held_study(session, item_id=uuid.UUID(item_id), orthanc=orthanc_client())


@task(RECONCILE_ORTHANC, retry_on=(OrthancUnavailable,), max_retries=2)
def reconcile_task() -> dict[str, int]:
    """Reconcile Orthanc with the database and re-start stuck work; return the counts."""
    return build_reconciler(orthanc_client(), get_settings()).run(act=True).counts()
