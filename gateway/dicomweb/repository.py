"""SQL of the DICOMweb read side: studies and series by UID, always within the caller's scope."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from services.auth.principal import TenantScope
from services.contracts.ai_result_uids import gsps_sop_instance_uid
from services.models import InferenceJob, Series, Study
from services.study import repository as study_repository

# Studies a viewer may open: registered and checked (not still arriving, not quarantined).
READABLE_STATUSES = ("UNREAD", "CLAIMED", "REPORTED", "DELIVERED", "AMENDED", "VALIDATED")


@dataclass(frozen=True)
class StudyQuery:
    """QIDO-RS study filters, already checked; empty strings mean no filter."""

    study_instance_uid: str = ""
    patient_id: str = ""
    patient_name: str = ""  # may hold '*' and '?' wildcards
    accession_number: str = ""
    study_date_from: str = ""
    study_date_to: str = ""
    modality: str = ""
    limit: int = 100
    offset: int = 0


def _like(pattern: str) -> str:
    escaped = pattern.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped.replace("*", "%").replace("?", "_")


def readable_study(session: Session, scope: TenantScope, study_uid: str) -> Study | None:
    """Return the caller's readable study with this StudyInstanceUID, or None."""
    stmt = study_repository.scoped(scope).where(
        Study.study_instance_uid == study_uid, Study.status.in_(READABLE_STATUSES)
    )
    return session.scalar(stmt)


def tenant_study(session: Session, tenant_id: uuid.UUID, study_uid: str) -> Study | None:
    """Return a readable study of the tenant with this UID (for priors opened via an item)."""
    stmt = select(Study).where(
        Study.tenant_id == tenant_id,
        Study.study_instance_uid == study_uid,
        Study.status.in_(READABLE_STATUSES),
    )
    return session.scalars(stmt).first()


def search_studies(session: Session, scope: TenantScope, query: StudyQuery) -> list[Study]:
    """Return readable studies matching ``query``, newest first."""
    stmt = study_repository.scoped(scope).where(Study.status.in_(READABLE_STATUSES))
    if query.study_instance_uid:
        stmt = stmt.where(Study.study_instance_uid == query.study_instance_uid)
    if query.patient_id:
        stmt = stmt.where(Study.patient_id.like(_like(query.patient_id), escape="\\"))
    if query.patient_name:
        stmt = stmt.where(Study.patient_name.like(_like(query.patient_name), escape="\\"))
    if query.accession_number:
        stmt = stmt.where(Study.accession_number == query.accession_number)
    if query.study_date_from:
        stmt = stmt.where(Study.study_date >= query.study_date_from)
    if query.study_date_to:
        stmt = stmt.where(Study.study_date <= query.study_date_to)
    if query.modality:
        in_series = (
            select(Series.id)
            .where(Series.study_id == Study.id, Series.modality == query.modality)
            .exists()
        )
        stmt = stmt.where(or_(Study.modality == query.modality, in_series))
    stmt = stmt.order_by(Study.received_at.desc(), Study.id).offset(query.offset)
    return list(session.scalars(stmt.limit(query.limit)))


def series_of(session: Session, study_id: uuid.UUID) -> list[Series]:
    """Return the registered series of a study (the study was already scope-checked)."""
    return study_repository.series_of(session, study_id)


def series_by_study(session: Session, study_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[Series]]:
    """Return the series of several already-scoped studies, by study id."""
    out: dict[uuid.UUID, list[Series]] = {i: [] for i in study_ids}
    if study_ids:
        for row in session.scalars(select(Series).where(Series.study_id.in_(study_ids))):
            out[row.study_id].append(row)
    return out


def result_object_uids(session: Session, study_id: uuid.UUID) -> set[str]:
    """Return the SOP Instance UIDs of the AI result objects written into a study.

    A job (not a shadow run) records its SR's UID once it is stored; the GSPS it stores just
    before has a UID derived from the job id. A job without a GSPS adds a UID nothing holds.
    """
    stmt = select(InferenceJob.id, InferenceJob.result_sr_uid).where(
        InferenceJob.study_id == study_id,
        InferenceJob.shadow.is_(False),
        InferenceJob.result_sr_uid.is_not(None),
    )
    uids: set[str] = set()
    for job_id, sr_uid in session.execute(stmt):
        if sr_uid:
            uids.update((sr_uid, gsps_sop_instance_uid(job_id)))
    return uids
