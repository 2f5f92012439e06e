"""Upload ownership of Orthanc studies (who sent a study through the gateway)."""

from __future__ import annotations

import uuid

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.kit.errors import Conflict
from services.models import StudyOrigin


def note_upload(
    session: Session,
    *,
    orthanc_study_id: str,
    tenant_id: uuid.UUID,
    organization_id: uuid.UUID,
    source: str,
    uploaded_by: str,
) -> StudyOrigin:
    """Record the uploader of a study; refuse a second uploader from another organization."""
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
    return origin


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
