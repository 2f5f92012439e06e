"""SQL of archiving: the archive record of a study (the worker acts on ids it was given)."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.models import ArchiveRecord, Study, Tenant


def study(session: Session, study_id: uuid.UUID) -> Study | None:
    """Return the study to archive."""
    return session.get(Study, study_id)


def tenant(session: Session, tenant_id: uuid.UUID) -> Tenant | None:
    """Return the study's tenant (for its retention setting)."""
    return session.get(Tenant, tenant_id)


def record_for(session: Session, study_id: uuid.UUID) -> ArchiveRecord | None:
    """Return the archive record of a study, locked for update."""
    stmt = select(ArchiveRecord).where(ArchiveRecord.study_id == study_id)
    return session.scalar(stmt.with_for_update())


def add(session: Session, record: ArchiveRecord) -> ArchiveRecord:
    """Insert a new archive record."""
    session.add(record)
    session.flush()
    return record
