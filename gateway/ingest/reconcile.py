"""Reconcile Orthanc with our records: orphans, vanished studies, half-done work.

* An orphan is a stable Orthanc study with no study row and no quarantine item: a change the
  watcher never saw (Orthanc killed between storing and logging, a feed gap, a cursor restored
  from backup). It goes through the same registration as the watcher: registered for its
  sender, or quarantined with the reason.
* A vanished study has a row whose Orthanc study is gone although retention never took it
  offline: it is reported (and audited), never silently dropped.
* Stuck work (``reconcile_stuck``) is re-enqueued.
* Files a killed local Orthanc left in its storage without an index entry are moved aside.

Run by beat and by ``radbridge gateway reconcile``; with ``act=False`` it only reports.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from gateway.ingest.orphan_files import OrphanFiles, find_orphan_files
from gateway.ingest.reconcile_stuck import StuckReport, find_stuck
from gateway.ingest.registration import handle_stable_study
from gateway.orthanc.errors import OrthancNotFound, OrthancUnavailable
from gateway.orthanc.port import OrthancPort
from services.audit import service as audit
from services.domain.routing import ModelRoute
from services.kit.db import session_scope
from services.kit.settings import CoreSettings
from services.models import QuarantineItem, Study
from services.study.routing import configured_routes

log = logging.getLogger("radbridge.reconcile")
ACTOR = "system:reconcile"
_PAGE = 1000
_KNOWN_ITEM_STATUSES = ("HELD", "RELEASING", "RELEASE_FAILED", "DELETING")


@dataclass
class ReconcileReport:
    """What a reconciliation found in Orthanc and the database, and what it did."""

    orthanc_studies: int = 0
    orphans: dict[str, list[str]] = field(default_factory=dict)  # outcome -> Orthanc ids
    vanished: list[uuid.UUID] = field(default_factory=list)
    stuck: StuckReport = field(default_factory=StuckReport)
    orphan_files: OrphanFiles = field(default_factory=OrphanFiles)

    def counts(self) -> dict[str, int]:
        """Return the report as counts (for logs, the CLI and the beat task's result)."""
        s = self.stuck
        return {
            "orthanc_studies": self.orthanc_studies,
            **{f"orphans_{k}": len(v) for k, v in sorted(self.orphans.items())},
            "vanished": len(self.vanished),
            "orphan_files": len(self.orphan_files.orphans),
            "orphan_files_moved": self.orphan_files.moved,
            "half_registered": len(s.half_registered),
            "archive_requeued": len(s.archive_requeued),
            "ai_jobs_requeued": s.ai_jobs_requeued,
            "ai_jobs_failed": s.ai_jobs_failed,
            "ai_status_settled": s.ai_status_settled,
        }


def _orthanc_ids(orthanc: OrthancPort) -> Iterator[list[str]]:
    since = 0
    while page := orthanc.list_study_ids(since=since, limit=_PAGE):
        yield page
        since += len(page)


def _known(session: Session, ids: Sequence[str]) -> set[str]:
    studies = select(Study.orthanc_id).where(Study.orthanc_id.in_(ids))
    held = select(QuarantineItem.orthanc_id).where(
        QuarantineItem.orthanc_id.in_(ids), QuarantineItem.status.in_(_KNOWN_ITEM_STATUSES)
    )
    return {i for i in session.scalars(studies.union(held)) if i}


def _online_rows(session: Session) -> dict[str, uuid.UUID]:
    stmt = select(Study.orthanc_id, Study.id).where(Study.orthanc_id.is_not(None))
    return {orthanc_id: study_id for orthanc_id, study_id in session.execute(stmt) if orthanc_id}


@dataclass
class Reconciler:
    """One reconciliation pass over Orthanc and the database."""

    orthanc: OrthancPort
    routes: Sequence[ModelRoute]
    factory: sessionmaker[Session] | None = None
    stuck_after: timedelta = timedelta(minutes=30)
    max_attempts: int = 5
    storage_dir: Path | None = None  # a local Orthanc's storage folder, to look for orphan files
    orphan_files_to: Path | None = None
    orphan_grace_s: float = 600.0

    def run(self, *, act: bool = True) -> ReconcileReport:
        """Compare both sides; with ``act`` register/quarantine orphans and re-enqueue work."""
        report = ReconcileReport()
        with session_scope(self.factory) as session:  # rows older than the Orthanc listing
            rows = _online_rows(session)
        seen: set[str] = set()
        for page in _orthanc_ids(self.orthanc):
            report.orthanc_studies += len(page)
            seen.update(page)
            with session_scope(self.factory) as session:
                known = _known(session, page)
            for orthanc_id in (i for i in page if i not in known):
                outcome = self._orphan(orthanc_id, act=act)
                report.orphans.setdefault(outcome, []).append(orthanc_id)
        report.vanished = self._vanished({o: s for o, s in rows.items() if o not in seen}, act=act)
        with session_scope(self.factory) as session:
            report.stuck = find_stuck(
                session, stuck_after=self.stuck_after, max_attempts=self.max_attempts, act=act
            )
        if self.storage_dir is not None:
            report.orphan_files = find_orphan_files(
                self.orthanc,
                self.storage_dir,
                grace_s=self.orphan_grace_s,
                move_to=self.orphan_files_to if act else None,
            )
        log.info("reconciliation: %s", report.counts())
        return report

    def _orphan(self, orthanc_id: str, *, act: bool) -> str:
        try:
            if not self.orthanc.get_study(orthanc_id).is_stable:
                return "receiving"  # the watcher will see its StableStudy change
            if not act:
                return "found"
            with session_scope(self.factory) as session:
                outcome = handle_stable_study(session, self.orthanc, orthanc_id, self.routes)
                if outcome.result != "ignored":
                    self._audit(session, "reconcile.orphan", orthanc_id, outcome.result)
            return outcome.result
        except OrthancNotFound:
            return "gone"
        except IntegrityError:  # the watcher registered it at the same moment
            return "raced"

    def _vanished(self, candidates: dict[str, uuid.UUID], *, act: bool) -> list[uuid.UUID]:
        vanished = []
        for orthanc_id, study_id in candidates.items():
            try:
                self.orthanc.get_study(orthanc_id)
                continue  # stored again while we were listing
            except OrthancNotFound:
                pass
            with session_scope(self.factory) as session:  # not taken offline meanwhile
                still = session.scalar(select(Study.orthanc_id).where(Study.id == study_id))
                if still == orthanc_id:
                    vanished.append(study_id)
        if act and vanished:
            with session_scope(self.factory) as session:
                for study_id in vanished:
                    self._audit(session, "reconcile.vanished", str(study_id), "reported")
        return vanished

    @staticmethod
    def _audit(session: Session, action: str, object_id: str, outcome: str) -> None:
        audit.record(
            session,
            actor=ACTOR,
            action=action,
            object_type="orthanc_study" if action.endswith("orphan") else "study",
            object_id=object_id,
            outcome="success",
            detail={"result": outcome},
        )


def build_reconciler(orthanc: OrthancPort, settings: CoreSettings) -> Reconciler:
    """Return the reconciler of this deployment (orphan files only for a local Orthanc)."""
    local = settings.state_dir / "orthanc"
    return Reconciler(
        orthanc,
        configured_routes(settings),
        stuck_after=timedelta(seconds=settings.gateway.reconcile_stuck_after_s),
        max_attempts=settings.job_max_attempts,
        storage_dir=local / "storage" if settings.orthanc.manage_locally else None,
        orphan_files_to=local / "orphan-files",
    )


def reconcile_at_startup(orthanc: OrthancPort, settings: CoreSettings) -> ReconcileReport | None:
    """Run one pass before following the feed (after a crash of everything: F14).

    Orthanc still starting is not an error here: beat runs the next pass.
    """
    try:
        return build_reconciler(orthanc, settings).run(act=True)
    except OrthancUnavailable as exc:
        log.warning("start-up reconciliation skipped, Orthanc unavailable: %s", exc.reason)
        return None
