"""Assignment modes: the shared pull queue, or push by subspecialty and current load.

With ``assignment_mode = "push"`` on the reading agreement a new item is assigned at once to
the least-loaded reader whose profile lists the exam's subspecialty (``general`` readers are
the fallback; with nobody free the item stays in the pull queue). A senior radiologist or the
consortium admin may (re)assign any item, to a named reader or automatically.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from services.audit import service as audit
from services.auth.principal import Principal
from services.domain.assignment import ReaderLoad, Subspecialty, pick_reader, subspecialty_for
from services.domain.roles import ADMIN_ROLES
from services.kit.clock import utc_now
from services.models import ReaderProfile, Study, WorklistItem
from services.worklist import claims, claims_repository, live, notifications
from services.worklist.exceptions import (
    AlreadyReported,
    NoReaderAvailable,
    NotAReader,
    ReaderNotFound,
)

SYSTEM = "system:assignment"


def _assign_to(
    session: Session, item: WorklistItem, user_id: uuid.UUID, *, actor: str, detail: dict[str, Any]
) -> None:
    item.assigned_to_id = user_id
    item.assigned_at = utc_now()
    audit.record(
        session,
        actor=actor,
        action="worklist.assign",
        object_type="worklist_item",
        object_id=item.id,
        tenant_id=item.tenant_id,
        study_id=item.study_id,
        detail={"user_id": str(user_id), **detail},
    )
    notifications.notify(
        session,
        item=item,
        kind="assigned",
        user_id=user_id,
        message=f"Worklist item {item.id} was assigned to you.",
    )
    live.publish(session, item, "assigned")


def _push(session: Session, item: WorklistItem, study: Study, *, actor: str) -> uuid.UUID | None:
    subspecialty = subspecialty_for(
        modality=study.modality, body_part=study.body_part, description=study.description
    )
    rows = claims_repository.reader_loads(
        session, tenant_id=item.tenant_id, reader_org_id=item.reader_org_id
    )
    loads = [
        ReaderLoad(
            user_id=r[0],
            username=r[1],
            subspecialties=frozenset(r[2] or ()),
            open_items=int(r[3]),
            max_open_items=int(r[4]),
        )
        for r in rows
    ]
    chosen = pick_reader(loads, subspecialty)
    if chosen is not None:
        _assign_to(
            session,
            item,
            chosen,
            actor=actor,
            detail={"mode": "push", "subspecialty": subspecialty},
        )
    return chosen


def auto_assign(session: Session, *, item: WorklistItem, study: Study) -> uuid.UUID | None:
    """Push a new item to a reader when its reading agreement says so; return who got it."""
    agreement = claims_repository.agreement(
        session, reader_org_id=item.reader_org_id, clinic_org_id=item.clinic_org_id
    )
    if agreement is None or agreement.assignment_mode != "push":
        return None
    session.flush()
    return _push(session, item, study, actor=SYSTEM)


def assign(
    session: Session, *, principal: Principal, item_id: uuid.UUID, user_id: uuid.UUID | None
) -> WorklistItem:
    """Assign an item to ``user_id``, or to the least-loaded fitting reader when None."""
    is_admin = principal.has_any(ADMIN_ROLES)
    item = claims.hospital_item(
        session, principal=principal, item_id=item_id, any_hospital=is_admin
    )
    if item.status == "REPORTED":
        raise AlreadyReported("This study is already reported; there is nothing to assign.")
    if user_id is None:
        study = session.get(Study, item.study_id)
        assert study is not None
        if _push(session, item, study, actor=principal.actor) is None:
            raise NoReaderAvailable(
                "No radiologist with this subspecialty has free capacity; assign one by name."
            )
        return item
    assert item.tenant_id is not None
    if (
        claims_repository.reader_of_hospital(
            session, tenant_id=item.tenant_id, reader_org_id=item.reader_org_id, user_id=user_id
        )
        is None
    ):
        raise NotAReader("This user is not an active radiologist of the reading hospital.")
    _assign_to(session, item, user_id, actor=principal.actor, detail={"mode": "manual"})
    return item


def set_profile(
    session: Session,
    *,
    principal: Principal,
    user_id: uuid.UUID,
    subspecialties: Sequence[Subspecialty],
    max_open_items: int,
    accepts_push: bool,
) -> ReaderProfile:
    """Create or replace a reader's profile (a reader of the caller's hospital; admins: any)."""
    reader = None
    if principal.tenant_id is not None:
        reader = claims_repository.reader_of_hospital(
            session,
            tenant_id=principal.tenant_id,
            reader_org_id=None if principal.has_any(ADMIN_ROLES) else principal.organization_id,
            user_id=user_id,
        )
    if reader is None or reader.tenant_id is None:
        raise ReaderNotFound("No such radiologist in your hospital.")
    profile = claims_repository.profile_of(session, tenant_id=reader.tenant_id, user_id=user_id)
    if profile is None:
        profile = ReaderProfile(tenant_id=reader.tenant_id, user_id=user_id)
        session.add(profile)
    profile.subspecialties = sorted({s.value for s in subspecialties})
    profile.max_open_items = max_open_items
    profile.accepts_push = accepts_push
    audit.record(
        session,
        actor=principal.actor,
        action="reader_profile.set",
        object_type="reader_profile",
        object_id=user_id,
        tenant_id=reader.tenant_id,
        detail={"subspecialties": profile.subspecialties, "max_open_items": max_open_items},
    )
    session.flush()
    return profile
