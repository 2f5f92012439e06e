"""Quarantine: objects we could not accept are kept with their reason, never dropped."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.audit import service as audit
from services.models import QuarantineItem


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
    """Return the held item for an Orthanc study, so replays do not quarantine twice."""
    stmt = select(QuarantineItem).where(
        QuarantineItem.orthanc_id == orthanc_id, QuarantineItem.status == "HELD"
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
