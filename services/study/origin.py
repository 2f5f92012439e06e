"""Upload ownership of Orthanc studies (who sent a study through the gateway)."""

from __future__ import annotations

import uuid

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.domain.declared_order import DeclaredOrder
from services.kit.errors import Conflict
from services.models import StudyOrigin


def note_upload(  # noqa: PLR0913 - who sent which study, and what they declared
    session: Session,
    *,
    orthanc_study_id: str,
    tenant_id: uuid.UUID,
    organization_id: uuid.UUID,
    source: str,
    uploaded_by: str,
    declared: DeclaredOrder | None = None,
) -> StudyOrigin:
    """Record the uploader of a study; refuse a second uploader from another organization.

    ``declared`` urgency / patient type are kept for registration; a later upload's declared
    value replaces an earlier one (the clinic corrected it), an undeclared one keeps it.
    """
    origin = session.get(StudyOrigin, orthanc_study_id)
    if origin is None:
        origin = StudyOrigin(
            orthanc_study_id=orthanc_study_id,
            tenant_id=tenant_id,
            organization_id=organization_id,
            source=source,
            uploaded_by=uploaded_by,
        )
        try:  # parallel uploads of one study race to note it: the loser reads the winner's row
            with session.begin_nested():
                session.add(origin)
        except IntegrityError:
            origin = session.get(StudyOrigin, orthanc_study_id, populate_existing=True)
            if origin is None:
                raise
    if origin.organization_id != organization_id:
        raise Conflict("This study was already sent by another organization.")
    if declared is not None:
        origin.urgency = declared.urgency or origin.urgency
        origin.patient_type = declared.patient_type or origin.patient_type
    return origin


def declared_of(origin: StudyOrigin | None) -> DeclaredOrder:
    """Return what the uploader declared about the study (empty values when nothing)."""
    if origin is None:
        return DeclaredOrder()
    return DeclaredOrder(urgency=origin.urgency or "", patient_type=origin.patient_type or "")


def uploader_of(session: Session, orthanc_study_id: str) -> StudyOrigin | None:
    """Return who uploaded an Orthanc study through the gateway, if anyone did."""
    return session.get(StudyOrigin, orthanc_study_id)


def forget(session: Session, orthanc_study_id: str) -> bool:
    """Drop the uploader record of a study removed from Orthanc; return whether one existed."""
    origin = session.get(StudyOrigin, orthanc_study_id)
    if origin is None:
        return False
    session.delete(origin)
    session.flush()
    return True
