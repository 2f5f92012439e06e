"""Take studies past their online retention out of Orthanc, never before their archive is proven.

A study leaves Orthanc only when, at that moment: its archive record is ARCHIVED, the stored
manifest still has the SHA-256 recorded when it was verified, every object listed in it reads
back with its SHA-256, and every instance Orthanc holds is in the manifest (a late series that
was not archived yet sends the study back to the archiver instead). The archive itself is kept
for its own retention. Each step is idempotent: a crash after Orthanc's delete is finished by
the next run, which finds the study gone and records the purge.
"""

from __future__ import annotations

import logging
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from gateway.archive.copier import verify_archive
from gateway.archive.manifest import parse_manifest, sha256_hex
from gateway.orthanc.errors import OrthancNotFound
from gateway.orthanc.port import OrthancPort
from services.audit import service as audit
from services.contracts.task_names import ARCHIVE_STUDY
from services.kit.db import enqueue, session_scope
from services.kit.storage import ObjectIntegrityError, ObjectNotFound, ObjectStore
from services.models import ArchiveRecord, OrthancPurge, Study
from services.tenant import retention

log = logging.getLogger("radbridge.retention")
ACTOR = "system:retention"


@dataclass
class PurgeReport:
    """What one run did: studies taken offline, and why others were kept."""

    purged: list[uuid.UUID] = field(default_factory=list)
    kept: Counter[str] = field(default_factory=Counter)


@dataclass(frozen=True)
class _Candidate:
    study_id: uuid.UUID
    tenant_id: uuid.UUID
    orthanc_id: str
    manifest_key: str
    manifest_sha256: str
    online_days: int


def _candidate(session: Session, due: retention.Due) -> _Candidate | str:
    study = session.get(Study, due.study_id)
    if study is None or not study.orthanc_id:
        return "already_offline"
    record = session.scalar(select(ArchiveRecord).where(ArchiveRecord.study_id == study.id))
    if record is None or record.status != "ARCHIVED" or not record.manifest_sha256:
        enqueue(session, ARCHIVE_STUDY, study_id=str(study.id))
        return "not_archived"
    return _Candidate(
        study.id,
        study.tenant_id,
        study.orthanc_id,
        record.manifest_key,
        record.manifest_sha256,
        due.online_days,
    )


def _archive_problem(c: _Candidate, orthanc: OrthancPort, store: ObjectStore) -> str:
    """Return "" when the archive provably holds everything Orthanc has, else why not."""
    try:
        body = store.get(c.manifest_key)
    except (ObjectNotFound, ObjectIntegrityError):
        return "manifest_missing"
    if sha256_hex(body) != c.manifest_sha256:
        return "manifest_changed"
    if verify_archive(store, c.manifest_key):
        return "archive_damaged"
    archived = {e.sop_instance_uid for e in parse_manifest(body).instances}
    try:
        online = set(orthanc.study_sop_instance_uids(c.orthanc_id))
    except OrthancNotFound:
        return ""  # already removed by an earlier run that crashed before recording it
    return "" if online <= archived else "not_fully_archived"


def _record(session: Session, c: _Candidate, found: bool, instances: int) -> None:
    study = session.get(Study, c.study_id, with_for_update=True)
    if study is None or study.orthanc_id != c.orthanc_id:
        return
    study.orthanc_id = None
    session.add(
        OrthancPurge(
            tenant_id=c.tenant_id,
            study_id=c.study_id,
            orthanc_id=c.orthanc_id,
            manifest_key=c.manifest_key,
            manifest_sha256=c.manifest_sha256,
            instance_count=instances,
            online_days=c.online_days,
        )
    )
    audit.record(
        session,
        actor=ACTOR,
        action="retention.purge",
        object_type="study",
        object_id=c.study_id,
        tenant_id=c.tenant_id,
        study_id=c.study_id,
        detail={
            "orthanc_id": c.orthanc_id,
            "online_days": c.online_days,
            "deleted_now": found,
            "manifest_sha256": c.manifest_sha256,
            "level": "study",
        },
    )


def purge_expired(
    *,
    orthanc: OrthancPort,
    store: ObjectStore,
    factory: sessionmaker[Session] | None = None,
    now: datetime | None = None,
    limit: int = 100,
) -> PurgeReport:
    """Remove from Orthanc the studies past retention whose archive is verified right now."""
    report = PurgeReport()
    with session_scope(factory) as session:
        due = retention.due_for_purge(session, now=now, limit=limit)
    for item in due:
        with session_scope(factory) as session:
            candidate = _candidate(session, item)
        if isinstance(candidate, str):
            report.kept[candidate] += 1
            continue
        problem = _archive_problem(candidate, orthanc, store)
        if problem:
            log.warning("study %s kept online: %s", candidate.study_id, problem)
            report.kept[problem] += 1
            with session_scope(factory) as session:
                enqueue(session, ARCHIVE_STUDY, study_id=str(candidate.study_id))
            continue
        instances = len(parse_manifest(store.get(candidate.manifest_key)).instances)
        found = orthanc.delete_study(candidate.orthanc_id)
        with session_scope(factory) as session:
            _record(session, candidate, found, instances)
        report.purged.append(candidate.study_id)
    return report
