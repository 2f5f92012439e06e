"""Register the studies of upload batches that just became whole; quarantine abandoned ones.

The change feed may report a study stable while its upload batch is still open; registration
then defers it. Once the batch is finalized, the watcher (the one process that registers
studies, so two registrations never race) hands each of its studies to registration here. A
batch that stays incomplete past its time to live is closed and its partial studies are
quarantined, so an admin sees them (release or delete) instead of them waiting forever.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from datetime import timedelta

from sqlalchemy.orm import Session

from gateway.ingest.registration import handle_stable_study
from gateway.orthanc.errors import OrthancNotFound
from gateway.orthanc.port import OrthancPort
from services.domain.routing import ModelRoute
from services.kit.clock import utc_now
from services.kit.settings import get_settings
from services.models import UploadBatchStudy
from services.quarantine import service as quarantine
from services.study import upload_batch

log = logging.getLogger("radbridge.ingest")


def release_finished_batches(
    scope: Callable[[], AbstractContextManager[Session]],
    client: OrthancPort,
    routes: Sequence[ModelRoute],
) -> int:
    """Register every study of a finalized batch not registered yet; return how many."""
    abandon_stale_batches(scope, timedelta(hours=get_settings().gateway.upload_batch_ttl_h))
    with scope() as session:
        pending = [
            (link.batch_id, link.study_instance_uid, link.orthanc_study_id)
            for link in upload_batch.to_release(session)
        ]
    for batch_id, study_uid, orthanc_id in pending:
        with scope() as session:
            try:
                outcome = handle_stable_study(session, client, orthanc_id, routes)
                log.info("batch study %s: %s %s", orthanc_id, outcome.result, outcome.reason)
            except OrthancNotFound:
                log.info("batch study %s was deleted before its release", orthanc_id)
            link = session.get(UploadBatchStudy, (batch_id, study_uid))
            if link is not None:
                upload_batch.mark_released(link)
    return len(pending)


def abandon_stale_batches(
    scope: Callable[[], AbstractContextManager[Session]], max_idle: timedelta
) -> int:
    """Quarantine the partial studies of batches idle longer than ``max_idle``."""
    with scope() as session:
        batches = upload_batch.stale(session, idle_since=utc_now() - max_idle)
        for batch in batches:
            received = upload_batch.received_files(session, batch.id)
            for link in upload_batch.abandon(session, batch):
                quarantine.hold(
                    session,
                    source="upload",
                    reason_code="upload_incomplete",
                    reason=(
                        f"Upload batch {batch.key} received {received} of "
                        f"{batch.expected_files} files before it expired; release or delete it."
                    ),
                    tenant_id=batch.tenant_id,
                    organization_id=batch.organization_id,
                    orthanc_id=link.orthanc_study_id,
                    study_instance_uid=link.study_instance_uid,
                )
            log.warning("upload batch %s abandoned after %s", batch.id, max_idle)
    return len(batches)
