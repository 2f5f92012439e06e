"""Archive one study end to end: short transaction, copy without locks, short transaction.

Re-running is safe and cheap: objects already stored with the right checksum are only read
back, damaged ones are rewritten, and the manifest is rewritten only if it changed.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker

from gateway.archive import repository
from gateway.archive.copier import CopyReport, StudyRef, copy_study
from gateway.archive.manifest import manifest_key
from gateway.orthanc.errors import OrthancUnavailable
from gateway.orthanc.port import OrthancPort
from services.audit import service as audit
from services.kit.clock import utc_now
from services.kit.db import session_scope
from services.kit.settings import CoreSettings
from services.kit.storage import ObjectStore
from services.models import ArchiveRecord

log = logging.getLogger("radbridge.archive")
ACTOR = "system:archive"
RETENTION_KEY = "archive_retention_days"


@dataclass(frozen=True)
class ArchiveOutcome:
    """The result of one run: status and counts (``repaired`` lists rewritten keys)."""

    status: str
    uploaded: int = 0
    instances: int = 0
    repaired: tuple[str, ...] = ()
    error: str = ""


def retention_days(tenant_settings: dict[str, object], default: int) -> int:
    """Return the tenant's retention in days (its settings JSON may override the default)."""
    value = tenant_settings.get(RETENTION_KEY)
    return value if isinstance(value, int) and value > 0 else default


def _begin(session: Session, study_id: uuid.UUID, settings: CoreSettings) -> StudyRef | None:
    study = repository.study(session, study_id)
    if study is None or not study.orthanc_id:
        return None
    tenant = repository.tenant(session, study.tenant_id)
    days = retention_days(tenant.settings if tenant else {}, settings.archive.retention_days)
    retain_until = utc_now() + timedelta(days=days)
    record = repository.record_for(session, study.id) or repository.add(
        session, ArchiveRecord(tenant_id=study.tenant_id, study_id=study.id)
    )
    record.retain_until = retain_until
    record.manifest_key = manifest_key(study.tenant_id, study.study_instance_uid)
    return StudyRef(
        study.id,
        study.tenant_id,
        study.study_instance_uid,
        study.orthanc_id,
        retain_until.date().isoformat(),
    )


def _finish(session: Session, ref: StudyRef, report: CopyReport | None, error: str) -> None:
    record = repository.record_for(session, ref.study_id)
    if record is None:
        return
    if report is None:
        record.status, record.error = "FAILED", error[:2000]
    else:
        record.status, record.error = "ARCHIVED", ""
        record.instance_count = len(report.manifest.instances)
        record.total_bytes = report.manifest.total_bytes
        record.manifest_sha256 = report.manifest_sha256
        record.archived_at = record.archived_at or utc_now()
    audit.record(
        session,
        actor=ACTOR,
        action="archive.study",
        object_type="study",
        object_id=ref.study_id,
        tenant_id=ref.tenant_id,
        study_id=ref.study_id,
        outcome="success" if report else "failure",
        detail={
            "uploaded": report.uploaded if report else 0,
            "repaired": len(report.repaired) if report else 0,
            "error": error[:200],
        },
    )


def archive_study(
    study_id: uuid.UUID,
    *,
    orthanc: OrthancPort,
    store: ObjectStore,
    settings: CoreSettings,
    factory: sessionmaker[Session] | None = None,
) -> ArchiveOutcome:
    """Archive a registered study; raise OrthancUnavailable (retry) after recording FAILED."""
    if not settings.archive.enabled:
        return ArchiveOutcome("DISABLED")
    with session_scope(factory) as session:
        ref = _begin(session, study_id, settings)
    if ref is None:
        return ArchiveOutcome("NO_STUDY")
    try:
        report = copy_study(ref, orthanc=orthanc, store=store)
    except OrthancUnavailable as exc:
        with session_scope(factory) as session:
            _finish(session, ref, None, f"image store unavailable: {exc}")
        raise
    except Exception as exc:
        log.exception("archiving study %s failed", study_id)
        message = f"{type(exc).__name__}: {exc}"
        with session_scope(factory) as session:
            _finish(session, ref, None, message)
        return ArchiveOutcome("FAILED", error=message)
    with session_scope(factory) as session:
        _finish(session, ref, report, "")
    return ArchiveOutcome(
        "ARCHIVED", report.uploaded, len(report.manifest.instances), tuple(report.repaired)
    )
