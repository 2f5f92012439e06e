"""Reading the worklist: views, filters, search, keyset pages and counts.

Views (``view=``), for the calling radiologist:

- ``all_unread``: the hospital's shared queue, items nobody holds (status UNREAD);
- ``my_unread``: what the caller can read now: the shared queue plus the items the caller holds;
- ``my_claimed``: items the caller holds (status CLAIMED, claimed by the caller);
- ``pending_my_review``: for a senior radiologist, the hospital's reported items whose report
  another reader signed and that awaits a countersignature (双签, PRELIMINARY): what the caller
  may countersign. Empty for anyone who is not a senior radiologist.

An explicit ``status`` replaces the status part of the view (``all_unread`` + ``status=CLAIMED``
lists every held item of the hospital). Order: priority desc, then oldest first, then id.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import asdict, dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import Row
from sqlalchemy.orm import Session

from services.auth import service as auth_service
from services.auth.principal import Principal
from services.domain.pinyin_search import search_key
from services.domain.priority import PriorityWeights
from services.domain.priority_band import BAND_RANGES, PriorityBand
from services.domain.roles import Role
from services.kit.clock import utc_now
from services.kit.errors import NotFound
from services.kit.settings import get_settings
from services.models import Study
from services.worklist import cursor, repository

VIEWS = ("all_unread", "my_unread", "my_claimed", "pending_my_review")
_VIEW_STATUSES = {
    "all_unread": ("UNREAD",),
    "my_unread": ("UNREAD", "CLAIMED"),
    "my_claimed": ("CLAIMED",),
    "pending_my_review": ("REPORTED",),
}


class ClinicNotReadByYou(NotFound):
    """The sending-clinic filter names a clinic the caller's hospital does not read for."""

    code = "clinic_not_found"


@dataclass(frozen=True)
class WorklistQuery:
    """What the reader asked for; every field is already one of the allowed values."""

    view: str = "all_unread"
    status: str | None = None
    band: str | None = None
    modality: str | None = None
    body_part: str | None = None
    clinic_org_id: uuid.UUID | None = None
    patient_type: str | None = None
    ai_flag: str | None = None
    critical: bool | None = None
    due: str | None = None  # "overdue" | "due_soon"
    q: str | None = None


@dataclass(frozen=True)
class Page:
    """One page of the worklist and the cursor of the next one (None on the last page)."""

    items: list[Row[Any]]  # columns of item_read.ROW_FIELDS plus the two names
    next_cursor: str | None


@dataclass(frozen=True)
class Counts:
    """Items per status for the caller's hospital, and the open ones past their due time."""

    by_status: dict[str, int]
    overdue: int


def item_facts(study: Study) -> dict[str, Any]:
    """Return the study facts copied onto its worklist item (filters, search, list columns)."""
    return {
        "modality": study.modality,
        "body_part": study.body_part,
        "patient_type": study.patient_type,
        "patient_name": study.patient_name,
        "patient_name_pinyin": study.patient_name_pinyin,
        "patient_name_initials": study.patient_name_initials,
        "patient_id": study.patient_id,
        "accession_number": study.accession_number,
        "study_description": study.description,
    }


def _hospital(principal: Principal) -> tuple[uuid.UUID, uuid.UUID, uuid.UUID]:
    if principal.tenant_id is None or principal.organization_id is None:
        raise NotFound("Your account belongs to no reading hospital, so it has no worklist.")
    assert principal.user_id is not None or principal.kind == "client"
    return principal.tenant_id, principal.organization_id, principal.user_id or uuid.UUID(int=0)


def build_filter(
    session: Session | None, *, principal: Principal, query: WorklistQuery
) -> repository.QueueFilter:
    """Turn a reader's query into repository conditions (checks the clinic if one is named)."""
    tenant_id, org_id, user_id = _hospital(principal)
    if query.clinic_org_id is not None and session is not None:
        clinics = auth_service.clinics_read_by(session, reader_org_id=org_id)
        if query.clinic_org_id not in clinics:
            raise ClinicNotReadByYou(
                "No such sending clinic among the clinics your hospital reads for."
            )
    low, high = BAND_RANGES[PriorityBand(query.band)] if query.band else (None, None)
    now = utc_now()
    soon = now + timedelta(minutes=PriorityWeights().due_soon_minutes)
    due_from, due_before = {"overdue": (None, now), "due_soon": (now, soon)}.get(
        query.due or "", (None, None)
    )
    review = query.view == "pending_my_review"
    statuses = (query.status,) if query.status else _VIEW_STATUSES[query.view]
    if review and not principal.has_any({Role.SENIOR_RADIOLOGIST}):
        statuses = ()  # only a senior countersigns: nothing awaits this caller's review
    text = (query.q or "").strip() or None
    return repository.QueueFilter(
        tenant_id=tenant_id,
        reader_org_id=org_id,
        statuses=statuses,
        claimed_by_id=user_id if query.view == "my_claimed" else None,
        unread_or_claimed_by=user_id if query.view == "my_unread" and not query.status else None,
        priority_min=low,
        priority_below=high,
        modality=query.modality,
        body_part=query.body_part,
        patient_type=query.patient_type,
        ai_flag=query.ai_flag,
        critical=query.critical,
        clinic_org_id=query.clinic_org_id,
        due_from=due_from,
        due_before=due_before,
        search=text,
        search_key=search_key(text) if text else None,
        countersign_by=user_id if review else None,
    )


def _fingerprint(principal: Principal, query: WorklistQuery) -> str:
    raw = json.dumps({**asdict(query), "user": str(principal.user_id)}, default=str)
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def _cursor_key() -> bytes:
    return cursor.derive_key(get_settings().auth.signing_key.get_secret_value())


def list_page(
    session: Session,
    *,
    principal: Principal,
    query: WorklistQuery,
    limit: int,
    page_cursor: str | None = None,
) -> Page:
    """Return one page of the caller's hospital worklist and the cursor of the next page."""
    key, fingerprint = _cursor_key(), _fingerprint(principal, query)
    after = None
    if page_cursor:
        at = cursor.decode(page_cursor, fingerprint=fingerprint, key=key)
        after = (at.priority, at.created_at, at.item_id)
    conditions = build_filter(session, principal=principal, query=query)
    rows = repository.queue_page(session, conditions, after=after, limit=limit + 1)
    items, more = rows[:limit], len(rows) > limit
    next_cursor = None
    if more:
        last = items[-1]
        position = cursor.Position(last.priority, last.created_at, last.id)
        next_cursor = cursor.encode(position, fingerprint=fingerprint, key=key)
    return Page(items=items, next_cursor=next_cursor)


def counts(session: Session, *, principal: Principal) -> Counts:
    """Return the caller's hospital item counts per status and the overdue count."""
    tenant_id, org_id, _user = _hospital(principal)
    by_status, overdue = repository.count_by_status(
        session, tenant_id=tenant_id, reader_org_id=org_id, now=utc_now()
    )
    return Counts(
        by_status={s: by_status.get(s, 0) for s in ("UNREAD", "CLAIMED", "REPORTED")},
        overdue=overdue,
    )
