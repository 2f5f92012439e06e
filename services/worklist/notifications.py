"""Notifications to a reading group or one reader: written in the change's transaction."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from services.auth.principal import Principal
from services.models import Notification, WorklistItem
from services.worklist import sla_repository


def notify(
    session: Session,
    *,
    item: WorklistItem,
    kind: str,
    message: str,
    user_id: uuid.UUID | None = None,
) -> Notification:
    """Record a notification about ``item`` for its reading group, or for ``user_id`` only."""
    note = Notification(
        tenant_id=item.tenant_id,
        recipient_org_id=item.reader_org_id,
        user_id=user_id,
        kind=kind,
        worklist_item_id=item.id,
        study_id=item.study_id,
        message=message,
    )
    session.add(note)
    return note


def for_reader(session: Session, *, principal: Principal, limit: int) -> list[Notification]:
    """Return the newest notifications of the caller's reading group and of the caller."""
    if principal.tenant_id is None or principal.organization_id is None:
        return []
    return sla_repository.notifications_for(
        session,
        tenant_id=principal.tenant_id,
        org_id=principal.organization_id,
        user_id=principal.user_id,
        limit=limit,
    )
