"""Follow Orthanc's ``/changes`` feed and register every stable study exactly once.

Each change is handled in its own transaction together with the cursor advance, and tasks are
published only after that commit. A crash re-reads at most the change in flight, and handling a
change twice is a no-op (studies are upserted on their UID, jobs on study + model version).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from gateway.ingest.batch_release import release_finished_batches
from gateway.ingest.registration import handle_stable_study
from gateway.orthanc.aliases import node_alias
from gateway.orthanc.errors import OrthancNotFound, OrthancUnavailable
from gateway.orthanc.port import OrthancPort
from gateway.orthanc.records import ChangeType
from services.change_feed import service as cursor
from services.domain.routing import ModelRoute
from services.kit.db import session_scope
from services.tenant import service as tenant_service

log = logging.getLogger("radbridge.watcher")
FEED = "orthanc-changes"


@dataclass
class ChangeWatcher:
    """Polls the change feed; ``run_once`` handles one page, ``run`` loops until stopped."""

    client: OrthancPort
    routes: Sequence[ModelRoute]
    session_factory: sessionmaker[Session] | None = None
    page_size: int = 100
    poll_interval_s: float = 1.0
    node_sync_interval_s: float = 15.0

    def _scope(self) -> AbstractContextManager[Session]:
        return session_scope(self.session_factory)

    def run_once(self) -> int:
        """Handle the next page of changes; return how many changes were consumed."""
        with self._scope() as session:
            since = cursor.position(session, FEED)
        page = self.client.get_changes(since=since, limit=self.page_size)
        for change in page.changes:
            with self._scope() as session:
                if change.change_type == ChangeType.STABLE_STUDY:
                    self._stable_study(session, change.orthanc_id)
                cursor.advance(session, FEED, change.seq)
        if not page.changes and page.last > since:
            with self._scope() as session:
                cursor.advance(session, FEED, page.last)
        release_finished_batches(self._scope, self.client, self.routes)  # whole uploads
        return len(page.changes)

    def _stable_study(self, session: Session, orthanc_id: str) -> None:
        try:
            outcome = handle_stable_study(session, self.client, orthanc_id, self.routes)
        except OrthancNotFound:
            log.info("study %s was deleted before it could be registered", orthanc_id)
            return
        log.info("stable study %s: %s %s", orthanc_id, outcome.result, outcome.reason)

    def sync_dicom_nodes(self) -> int:
        """Make Orthanc's modality list match the registered DICOM nodes; return their number."""
        with self._scope() as session:
            nodes = tenant_service.list_dicom_nodes(session)
            wanted = {node_alias(n.id): (n.ae_title, n.host, n.port) for n in nodes}
        for name, (ae, host, port) in wanted.items():
            self.client.set_modality(name, ae, host, port)
        for present in self.client.list_modalities():
            if present.name not in wanted:
                self.client.delete_modality(present.name)
        return len(wanted)

    def run(self, stop: threading.Event) -> None:
        """Loop until ``stop`` is set; Orthanc outages are waited out, never fatal."""
        next_sync = 0.0
        while not stop.is_set():
            try:
                if time.monotonic() >= next_sync:  # picks up nodes registered meanwhile
                    log.debug("synced %d DICOM nodes to Orthanc", self.sync_dicom_nodes())
                    next_sync = time.monotonic() + self.node_sync_interval_s
                if self.run_once() >= self.page_size:
                    continue
            except OrthancUnavailable as exc:
                log.warning("Orthanc unavailable (%s); retrying", exc)
                next_sync = 0.0
            stop.wait(self.poll_interval_s)
