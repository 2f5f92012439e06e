"""Who may export, and which studies: always inside the administrator's own consortium.

A study id of another consortium is answered exactly like an unknown one (existence is not
revealed) and the refusal is audited.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.audit import service as audit
from services.domain.roles import Role
from services.kit.errors import AppError
from services.models import Study, User

ACTION = "export.deidentified"


class ExportRefused(AppError):
    """The export cannot run as asked; the message says what to do instead."""

    status_code = 422
    code = "export_refused"


class ExportForbidden(ExportRefused):
    """The account may not export patient data."""

    status_code = 403
    code = "forbidden"


class StudyNotInConsortium(ExportRefused):
    """A selected study is unknown, or belongs to another consortium (not revealed)."""

    status_code = 404
    code = "not_found"


@dataclass(frozen=True)
class Exporter:
    """The consortium administrator running an export."""

    actor: str
    user_id: uuid.UUID
    tenant_id: uuid.UUID


@dataclass(frozen=True)
class Selection:
    """Which studies to export: ids, accession numbers and/or a filter (ANDed filter fields)."""

    study_ids: tuple[uuid.UUID, ...] = ()
    accessions: tuple[str, ...] = ()
    modality: str | None = None
    date_from: str | None = None  # YYYYMMDD, inclusive
    date_to: str | None = None
    organization_ids: tuple[uuid.UUID, ...] = field(default=())

    @property
    def has_filter(self) -> bool:
        """Return whether any filter field is set."""
        return bool(self.modality or self.date_from or self.date_to or self.organization_ids)

    @property
    def is_empty(self) -> bool:
        """Return whether nothing at all was selected."""
        return not (self.study_ids or self.accessions or self.has_filter)


@dataclass(frozen=True)
class StudyRef:
    """A study to export, as read from the database."""

    study_id: uuid.UUID
    tenant_id: uuid.UUID
    orthanc_id: str
    patient_issuer: str  # namespaces PatientID: clinics reuse numbers


def exporter_for(session: Session, account: str | uuid.UUID) -> Exporter:
    """Return the exporting administrator (by username or user id); refuse anyone else."""
    if isinstance(account, uuid.UUID):
        user = session.get(User, account)
    else:
        user = session.scalar(select(User).where(User.username == account))
    if user is None or not user.is_active:
        raise ExportForbidden(f"no active user {account!s}; sign in with your own account")
    if Role.CONSORTIUM_ADMIN.value not in user.role_names or user.tenant_id is None:
        raise ExportForbidden(
            f"{user.username!r} is not a consortium administrator; "
            "only consortium_admin accounts may export patient data"
        )
    return Exporter(actor=f"user:{user.id}", user_id=user.id, tenant_id=user.tenant_id)


def _refuse(session: Session, exporter: Exporter, message: str, detail: dict[str, str]) -> None:
    """Audit the refusal in its own transaction, then raise (the caller's work rolls back)."""
    audit.record_denied(
        session,
        actor=exporter.actor,
        action=ACTION,
        object_type="study",
        tenant_id=exporter.tenant_id,
        detail=detail,
    )
    raise StudyNotInConsortium(message)


def _by_ids(session: Session, exporter: Exporter, ids: tuple[uuid.UUID, ...]) -> list[Study]:
    found = {s.id: s for s in session.scalars(select(Study).where(Study.id.in_(ids)))}
    for study_id in ids:
        study = found.get(study_id)
        if study is None or study.tenant_id != exporter.tenant_id:
            _refuse(
                session,
                exporter,
                f"study {study_id} was not found in your consortium; nothing was exported",
                {"study_id": str(study_id)},
            )
    return [found[i] for i in ids]


def _by_accessions(
    session: Session, exporter: Exporter, accessions: tuple[str, ...]
) -> list[Study]:
    stmt = select(Study).where(
        Study.tenant_id == exporter.tenant_id, Study.accession_number.in_(accessions)
    )
    studies = list(session.scalars(stmt))
    missing = sorted(set(accessions) - {s.accession_number for s in studies})
    if missing:
        _refuse(
            session,
            exporter,
            f"accession number(s) {', '.join(missing)} not found in your consortium; "
            "nothing was exported",
            {"accessions_missing": str(len(missing))},
        )
    return studies


def _by_filter(session: Session, exporter: Exporter, selection: Selection) -> list[Study]:
    stmt = select(Study).where(Study.tenant_id == exporter.tenant_id)
    if selection.modality:
        stmt = stmt.where(Study.modality.contains(selection.modality.upper()))
    if selection.date_from:
        stmt = stmt.where(Study.study_date >= selection.date_from)
    if selection.date_to:
        stmt = stmt.where(Study.study_date <= selection.date_to)
    if selection.organization_ids:
        stmt = stmt.where(Study.organization_id.in_(selection.organization_ids))
    return list(session.scalars(stmt.order_by(Study.received_at, Study.id)))


def select_studies(session: Session, exporter: Exporter, selection: Selection) -> list[StudyRef]:
    """Return the selected studies of the exporter's consortium that are in the image store."""
    if selection.is_empty:
        raise ExportRefused(
            "select studies: give study ids, accession numbers or a filter (modality, dates)"
        )
    chosen: dict[uuid.UUID, Study] = {}
    if selection.study_ids:
        chosen.update((s.id, s) for s in _by_ids(session, exporter, selection.study_ids))
    if selection.accessions:
        chosen.update((s.id, s) for s in _by_accessions(session, exporter, selection.accessions))
    if selection.has_filter:
        chosen.update((s.id, s) for s in _by_filter(session, exporter, selection))
    refs = [
        StudyRef(s.id, s.tenant_id, s.orthanc_id, s.patient_id_issuer or str(s.organization_id))
        for s in chosen.values()
        if s.orthanc_id
    ]
    if not refs:
        raise ExportRefused("no stored study matches the selection; nothing was exported")
    return refs
