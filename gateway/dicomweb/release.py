"""Releasing a quarantined file: re-submit its stored bytes through the STOW-RS checks.

The API only records the request (status RELEASING) and sends a task by name; this runs in the
worker with Orthanc and the object store at hand. The file is checked again exactly like a new
upload and stored for the organization that sent it; if it still fails, the item becomes
RELEASE_FAILED with the reason, and nothing reaches Orthanc.
"""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from gateway.ingest.admission import Sender, admit
from gateway.orthanc.errors import OrthancRejected
from gateway.orthanc.port import OrthancPort
from services.kit.errors import Conflict
from services.kit.storage import ObjectNotFound, ObjectStore
from services.models import Organization
from services.quarantine import service as quarantine
from services.study import origin as study_origin


def release_item(
    session: Session, *, item_id: uuid.UUID, orthanc: OrthancPort, store: ObjectStore
) -> str:
    """Re-submit one quarantined file; return the item's new status (or "NOTHING_TO_DO")."""
    item = quarantine.claim_release(session, item_id)
    if item is None:
        return "NOTHING_TO_DO"
    if not item.object_key or item.tenant_id is None or item.organization_id is None:
        quarantine.settle_release(session, item=item, ok=False, reason="no file or no owner")
        return item.status
    try:
        data = store.get(item.object_key)
    except ObjectNotFound:
        quarantine.settle_release(session, item=item, ok=False, reason="stored file is missing")
        return item.status
    organization = session.get(Organization, item.organization_id)
    assert organization is not None  # foreign key
    # The same gate as a new upload: validated, PatientID namespaced for the organization.
    admitted = admit(data, Sender(organization.id, organization.patient_id_issuer))
    if not admitted.verdict.ok:
        quarantine.settle_release(session, item=item, ok=False, reason=admitted.verdict.reason)
        return item.status
    try:
        result = orthanc.upload_instance(admitted.data)
        study_origin.note_upload(
            session,
            orthanc_study_id=result.parent_study,
            tenant_id=item.tenant_id,
            organization_id=item.organization_id,
            source=item.source,
            uploaded_by=f"quarantine:{item.id}",
        )
    except (Conflict, OrthancRejected) as exc:
        quarantine.settle_release(session, item=item, ok=False, reason=str(exc))
        return item.status
    quarantine.settle_release(session, item=item, ok=True, reason="stored")
    return item.status
