"""SQL of the patient index; every statement is limited to one tenant."""

from __future__ import annotations

import uuid

from sqlalchemy import ColumnElement, false, or_, select
from sqlalchemy.orm import Session

from services.domain.patient_match import PatientKeys, fallback_usable, has_identity
from services.models import PatientIndexEntry, Study


def entry_of(session: Session, study_id: uuid.UUID) -> PatientIndexEntry | None:
    """Return the index row of a study."""
    return session.scalar(select(PatientIndexEntry).where(PatientIndexEntry.study_id == study_id))


def candidates(
    session: Session,
    *,
    tenant_id: uuid.UUID,
    keys: PatientKeys,
    exclude_study_id: uuid.UUID,
    limit: int,
) -> list[tuple[PatientIndexEntry, Study]]:
    """Return the tenant's studies sharing the identity or the full name + birth date keys."""
    conditions: list[ColumnElement[bool]] = []
    if has_identity(keys):
        conditions.append(
            (PatientIndexEntry.issuer == keys.issuer)
            & (PatientIndexEntry.patient_id == keys.patient_id)
        )
    if fallback_usable(keys):
        conditions.append(
            (PatientIndexEntry.name_key == keys.name_key)
            & (PatientIndexEntry.birth_date == keys.birth_date)
        )
    stmt = (
        select(PatientIndexEntry, Study)
        .join(Study, Study.id == PatientIndexEntry.study_id)
        .where(
            PatientIndexEntry.tenant_id == tenant_id,
            Study.tenant_id == tenant_id,
            PatientIndexEntry.study_id != exclude_study_id,
            or_(*conditions) if conditions else false(),
        )
        .order_by(Study.received_at.desc(), Study.id)
        .limit(limit)
    )
    return [(entry, study) for entry, study in session.execute(stmt)]
