"""Releasing a quarantined file: re-submit its stored bytes through the STOW-RS checks.

The API only records the request (status RELEASING) and sends a task by name; this runs in the
worker with Orthanc and the object store at hand. The file is checked again exactly like a new
upload and stored for the organization that sent it (by C-STORE: with the sending node's
character-set override, as the SCP would); if it still fails, the item becomes
RELEASE_FAILED with the reason, and nothing reaches Orthanc.
"""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from gateway.ingest import senders
from gateway.ingest.admission import Sender, admit
from gateway.ingest.registration import SCP_UPLOADER_PREFIX
from gateway.orthanc.errors import OrthancRejected
from gateway.orthanc.port import OrthancPort
from services.kit.errors import Conflict
from services.kit.storage import ObjectNotFound, ObjectStore
from services.models import DicomNode, Organization, QuarantineItem
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
    sender, uploaded_by = _sender(session, item)
    # The same gate as a new upload: validated, PatientID namespaced for the organization,
    # IssuerOfPatientID filled, and the sending node's character-set override applied.
    admitted = admit(data, sender) if sender else None
    if admitted is None or not admitted.verdict.ok:
        reason = admitted.verdict.reason if admitted else "its clinic is gone"
        quarantine.settle_release(session, item=item, ok=False, reason=reason)
        return item.status
    try:
        result = orthanc.upload_instance(admitted.data)
        study_origin.note_upload(
            session,
            orthanc_study_id=result.parent_study,
            tenant_id=item.tenant_id,
            organization_id=item.organization_id,
            source=item.source,
            uploaded_by=uploaded_by,
        )
    except (Conflict, OrthancRejected) as exc:
        quarantine.settle_release(session, item=item, ok=False, reason=str(exc))
        return item.status
    quarantine.settle_release(session, item=item, ok=True, reason="stored")
    return item.status


def _sender(session: Session, item: QuarantineItem) -> tuple[Sender | None, str]:
    """Return whom to admit the file for, and the uploader to note, as a fresh send would.

    A C-STORE item is admitted for the node that sent it (its current override: an admin may
    have just set it to release garbled names) and noted as "dicom:<AE>" so the study keeps
    its calling AE title; anything else is admitted with its organization's defaults.
    """
    node = session.get(DicomNode, item.dicom_node_id) if item.dicom_node_id else None
    if node is not None and node.organization_id == item.organization_id:
        return senders.for_node(session, node), f"{SCP_UPLOADER_PREFIX}{node.ae_title}"
    organization = session.get(Organization, item.organization_id)
    if organization is None:
        return None, ""
    return senders.for_organization(organization), f"quarantine:{item.id}"
