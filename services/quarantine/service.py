"""Quarantine: objects we could not accept are kept with their reason, never dropped."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.audit import service as audit
from services.contracts.task_names import (
    DELETE_HELD_STUDY,
    RELEASE_HELD_STUDY,
    RELEASE_QUARANTINED,
)
from services.kit.db import enqueue
from services.kit.errors import Conflict, InvalidInput, NotFound
from services.kit.storage import ObjectStore
from services.models import Organization, QuarantineItem
from services.quarantine import repository

# An Orthanc study under one of these is not registered by the change feed.
HOLDING_STATUSES = ("HELD", "RELEASE_FAILED", "DELETING")


def hold(  # noqa: PLR0913 - each field is a distinct fact about the rejected object
    session: Session,
    *,
    source: str,
    reason_code: str,
    reason: str,
    tenant_id: uuid.UUID | None = None,
    organization_id: uuid.UUID | None = None,
    object_key: str | None = None,
    orthanc_id: str | None = None,
    study_instance_uid: str | None = None,
    dicom_node_id: uuid.UUID | None = None,
) -> QuarantineItem:
    """Record a quarantined object (its bytes are already in the object store or Orthanc)."""
    item = QuarantineItem(
        tenant_id=tenant_id,
        organization_id=organization_id,
        source=source,
        reason_code=reason_code,
        reason=reason,
        object_key=object_key,
        orthanc_id=orthanc_id,
        study_instance_uid=study_instance_uid,
        dicom_node_id=dicom_node_id,
    )
    session.add(item)
    session.flush()
    audit.record(
        session,
        actor=f"system:{source}",
        action="quarantine.hold",
        object_type="quarantine_item",
        object_id=item.id,
        tenant_id=tenant_id,
        detail={"reason_code": reason_code},
    )
    return item


def held_for_orthanc_study(session: Session, orthanc_id: str) -> QuarantineItem | None:
    """Return the item holding an Orthanc study, so replays do not quarantine twice."""
    stmt = select(QuarantineItem).where(
        QuarantineItem.orthanc_id == orthanc_id, QuarantineItem.status.in_(HOLDING_STATUSES)
    )
    return session.scalars(stmt.limit(1)).first()


def list_held(
    session: Session, *, tenant_id: uuid.UUID | None, limit: int = 100
) -> list[QuarantineItem]:
    """Return held items of a tenant (None: items no tenant could be found for)."""
    stmt = select(QuarantineItem).where(
        QuarantineItem.status == "HELD", QuarantineItem.tenant_id == tenant_id
    )
    return list(session.scalars(stmt.order_by(QuarantineItem.created_at.desc()).limit(limit)))


# --- administration (consortium admins) -------------------------------------------------

_NOT_FOUND = "No such quarantined item in your consortium."


def list_open(session: Session, *, tenant_id: uuid.UUID, limit: int = 100) -> list[QuarantineItem]:
    """Return the tenant's quarantined items awaiting a decision, with their reasons."""
    return repository.list_open(session, tenant_id, limit=limit)


def _open_item(session: Session, tenant_id: uuid.UUID, item_id: uuid.UUID) -> QuarantineItem:
    item = repository.get_for_update(session, tenant_id, item_id)
    if item is None:
        raise NotFound(_NOT_FOUND)
    if item.status not in ("HELD", "RELEASE_FAILED"):
        raise Conflict(f"This item is {item.status.lower()}; only held items can be changed.")
    return item


def request_release(
    session: Session,
    *,
    actor: str,
    tenant_id: uuid.UUID,
    item_id: uuid.UUID,
    organization_id: uuid.UUID | None = None,
) -> QuarantineItem:
    """Ask the gateway to release an item (a task, after commit); the API never talks to Orthanc.

    A stored file is re-submitted through the gateway's checks. A study held inside the image
    store is registered for ``organization_id`` (or the clinic already known for it) by the
    gateway task, which marks the item RELEASED, or RELEASE_FAILED with the reason.
    """
    item = _open_item(session, tenant_id, item_id)
    if item.object_key:
        task = RELEASE_QUARANTINED
    elif item.orthanc_id:
        item.organization_id = _owner_for_release(session, item, organization_id)
        task = RELEASE_HELD_STUDY
    else:
        raise Conflict("This item holds neither a file nor a study; it can only be deleted.")
    item.status = "RELEASING"
    audit.record(
        session,
        actor=actor,
        action="quarantine.release",
        object_type="quarantine_item",
        object_id=item.id,
        tenant_id=tenant_id,
        outcome="requested",
        detail={"reason_code": item.reason_code, "organization_id": str(item.organization_id)},
    )
    enqueue(session, task, item_id=str(item.id))
    return item


def _owner_for_release(
    session: Session, item: QuarantineItem, organization_id: uuid.UUID | None
) -> uuid.UUID:
    chosen = organization_id or item.organization_id
    if chosen is None:
        raise InvalidInput(
            "Nobody is known to have sent this study: give the organization_id of the clinic "
            "it belongs to."
        )
    org = session.get(Organization, chosen)
    if org is None or org.tenant_id != item.tenant_id:
        raise NotFound("No such organization in your consortium.")
    return org.id


def delete(
    session: Session,
    *,
    actor: str,
    tenant_id: uuid.UUID,
    item_id: uuid.UUID,
    store: ObjectStore,
) -> QuarantineItem:
    """Delete a quarantined item's file or held study; the record stays, marked DELETED.

    A study held inside the image store is removed by a gateway task (status DELETING until
    it is gone), at study level only: never the patient, who may have other studies.
    """
    item = _open_item(session, tenant_id, item_id)
    if item.object_key:
        store.delete(item.object_key)
    if item.orthanc_id:
        item.status = "DELETING"
        enqueue(session, DELETE_HELD_STUDY, item_id=str(item.id))
    else:
        item.status = "DELETED"
    audit.record(
        session,
        actor=actor,
        action="quarantine.delete",
        object_type="quarantine_item",
        object_id=item.id,
        tenant_id=tenant_id,
        outcome="requested" if item.orthanc_id else "success",
        detail={"reason_code": item.reason_code, "had_object": bool(item.object_key)},
    )
    return item


def claim_release(session: Session, item_id: uuid.UUID) -> QuarantineItem | None:
    """Return the item if a release is pending (for the gateway task), else None."""
    item = repository.get_unscoped(session, item_id)
    return item if item is not None and item.status == "RELEASING" else None


def settle_release(session: Session, *, item: QuarantineItem, ok: bool, reason: str) -> None:
    """Record the outcome of a release attempt (RELEASED, or RELEASE_FAILED with why)."""
    item.status = "RELEASED" if ok else "RELEASE_FAILED"
    audit.record(
        session,
        actor="system:gateway",
        action="quarantine.release",
        object_type="quarantine_item",
        object_id=item.id,
        tenant_id=item.tenant_id,
        outcome="success" if ok else "failure",
        detail={"reason": reason[:300]},
    )


def claim_held_study(session: Session, item_id: uuid.UUID, status: str) -> QuarantineItem | None:
    """Return an Orthanc-held item locked, if it still awaits ``status``'s task; else None."""
    item = repository.get_unscoped(session, item_id)
    if item is None or item.status != status or not item.orthanc_id:
        return None
    return item


def settle_delete(session: Session, *, item: QuarantineItem, found: bool) -> None:
    """Record that a held study was removed from the image store (or was already gone)."""
    item.status = "DELETED"
    audit.record(
        session,
        actor="system:gateway",
        action="quarantine.delete",
        object_type="quarantine_item",
        object_id=item.id,
        tenant_id=item.tenant_id,
        detail={"orthanc_study_deleted": found, "level": "study"},
    )
