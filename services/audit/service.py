"""Record audit events in the caller's transaction (the change and its record commit together)."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy.orm import Session

from services.models import AuditEvent

if TYPE_CHECKING:
    from services.auth.principal import Principal

E = TypeVar("E", bound=Exception)


def record(  # noqa: PLR0913 - keyword-only facts of one event
    session: Session,
    *,
    actor: str,
    action: str,
    object_type: str,
    object_id: str | uuid.UUID | None = None,
    tenant_id: uuid.UUID | None = None,
    study_id: uuid.UUID | None = None,
    outcome: str = "success",
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one audit event; ``detail`` holds ids and codes, never patient names."""
    event = AuditEvent(
        tenant_id=tenant_id,
        actor=actor,
        action=action,
        object_type=object_type,
        object_id=str(object_id) if object_id is not None else None,
        study_id=study_id,
        outcome=outcome,
        detail=detail or {},
    )
    session.add(event)
    return event


def record_denied(session: Session, **fields: Any) -> None:
    """Record a refused access in its own transaction, so the caller's rollback keeps it."""
    with Session(bind=session.get_bind()) as own:
        record(own, outcome="denied", **fields)
        own.commit()


def refused(
    session: Session,
    *,
    principal: Principal,
    action: str,
    object_type: str,
    object_id: str | uuid.UUID,
    error: E,
) -> E:
    """Audit a refused access (in its own transaction); return ``error`` for the caller to raise.

    The one shape of every "not yours, so it does not exist" answer: ``raise audit.refused(...)``.
    """
    record_denied(
        session,
        actor=principal.actor,
        action=action,
        object_type=object_type,
        object_id=object_id,
        tenant_id=principal.tenant_id,
    )
    return error
