"""SQL of exports: an export exists only as its audit events (requested, then done/failed)."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.models import AuditEvent


def export_events(
    session: Session, tenant_id: uuid.UUID, export_id: uuid.UUID, actions: tuple[str, ...]
) -> dict[str, AuditEvent]:
    """Return the export's recorded events by action, within one tenant (refusals excluded)."""
    stmt = select(AuditEvent).where(
        AuditEvent.tenant_id == tenant_id,
        AuditEvent.object_type == "export",
        AuditEvent.object_id == str(export_id),
        AuditEvent.action.in_(actions),
        AuditEvent.outcome.in_(("success", "failure")),
    )
    return {event.action: event for event in session.scalars(stmt)}
