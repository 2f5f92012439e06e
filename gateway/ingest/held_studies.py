"""Admin decisions on studies quarantined inside Orthanc, carried out by the gateway.

The API only records the decision (RELEASING / DELETING) and sends a task by name. Releasing
registers the study for the clinic the admin named, exactly as the change feed would have done.
Deleting removes the study from Orthanc at study level, never the patient: Orthanc 1.10 merges
patients of different clinics that share a PatientID, so a patient-level delete could take
another clinic's studies with it.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.ingest.registration import handle_stable_study
from gateway.orthanc.errors import OrthancNotFound, OrthancRejected
from gateway.orthanc.port import OrthancPort
from services.domain.routing import ModelRoute
from services.kit.errors import Conflict
from services.models import QuarantineItem, Study
from services.quarantine import service as quarantine
from services.study import origin as study_origin

log = logging.getLogger("radbridge.quarantine")
NOTHING_TO_DO = "NOTHING_TO_DO"
RELEASE_SOURCE = "release"


def release_held_study(
    session: Session,
    *,
    item_id: uuid.UUID,
    orthanc: OrthancPort,
    routes: Sequence[ModelRoute],
) -> str:
    """Register a held study for the organization chosen on release; return the item status."""
    item = quarantine.claim_held_study(session, item_id, "RELEASING")
    if item is None:
        return NOTHING_TO_DO
    problem = _register(session, item, orthanc, routes)
    quarantine.settle_release(session, item=item, ok=not problem, reason=problem or "registered")
    return item.status


def _register(
    session: Session, item: QuarantineItem, orthanc: OrthancPort, routes: Sequence[ModelRoute]
) -> str:
    """Return "" once registered, else why not (the attempt's rows are rolled back)."""
    assert item.orthanc_id is not None  # claim_held_study only returns Orthanc-held items
    if item.tenant_id is None or item.organization_id is None:
        return "no organization was chosen for this study"
    nested = session.begin_nested()
    try:
        study_origin.note_upload(
            session,
            orthanc_study_id=item.orthanc_id,
            tenant_id=item.tenant_id,
            organization_id=item.organization_id,
            source=RELEASE_SOURCE,  # owner named by an admin; no calling AE to record
            uploaded_by=f"quarantine:{item.id}",
        )
        outcome = handle_stable_study(session, orthanc, item.orthanc_id, routes)
    except OrthancNotFound:
        nested.rollback()
        return "the study is no longer in the image store"
    except (Conflict, OrthancRejected) as exc:
        nested.rollback()
        return str(exc)
    if outcome.result not in ("registered", "refreshed"):
        nested.rollback()
        return f"still not acceptable: {outcome.reason or outcome.result}"
    nested.commit()
    return ""


def delete_held_study(session: Session, *, item_id: uuid.UUID, orthanc: OrthancPort) -> str:
    """Remove a held study from Orthanc (study level) and mark its item DELETED."""
    item = quarantine.claim_held_study(session, item_id, "DELETING")
    if item is None:
        return NOTHING_TO_DO
    assert item.orthanc_id is not None
    registered = session.scalar(select(Study.id).where(Study.orthanc_id == item.orthanc_id))
    if registered is not None:  # released through another path meanwhile: never delete it
        log.warning("held study %s is registered as %s; kept", item.orthanc_id, registered)
        quarantine.settle_delete(session, item=item, found=False)
        return item.status
    found = orthanc.delete_study(item.orthanc_id)
    study_origin.forget(session, item.orthanc_id)
    quarantine.settle_delete(session, item=item, found=found)
    return item.status
