"""The worklist page query, built once per filter shape and reused with new parameters.

Building a SELECT of 27 columns and up to a dozen conditions, and deriving its cache
key, cost about 0.3 ms of CPU per request: as much as PostgreSQL's execution of it. The filters
a reader sets change from request to request but their *shape* (which filters are present) has
few variants, so each shape's statement is built once with bound parameters; SQLAlchemy then
finds its compiled form in the engine's cache without re-walking the construct.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import BindParameter, ColumnElement, Integer, Select, bindparam, exists, or_, select

from services.models import Report, WorklistItem
from services.worklist.item_read import ROW_FIELDS

_ESCAPE = "/"
# Optional equality filters: QueueFilter field -> column.
_EQUALS = {
    "claimed_by_id": WorklistItem.claimed_by_id,
    "body_part": WorklistItem.body_part,
    "patient_type": WorklistItem.patient_type,
    "ai_flag": WorklistItem.ai_flag,
    "critical": WorklistItem.critical,
    "clinic_org_id": WorklistItem.clinic_org_id,
}


@dataclass(frozen=True)
class QueueFilter:
    """The conditions of one worklist page; ``None`` means "any"."""

    tenant_id: uuid.UUID
    reader_org_id: uuid.UUID
    statuses: tuple[str, ...] = ("UNREAD",)
    claimed_by_id: uuid.UUID | None = None
    unread_or_claimed_by: uuid.UUID | None = None
    priority_min: int | None = None
    priority_below: int | None = None
    modality: str | None = None
    body_part: str | None = None
    patient_type: str | None = None
    ai_flag: str | None = None
    critical: bool | None = None
    clinic_org_id: uuid.UUID | None = None
    due_from: datetime | None = None
    due_before: datetime | None = None
    search: str | None = None
    search_key: str | None = None
    # Only items whose report awaits a countersignature (PRELIMINARY) by someone other than
    # its author: this user (pending_my_review).
    countersign_by: uuid.UUID | None = None


def _like_escaped(text: str) -> str:
    return text.replace(_ESCAPE, _ESCAPE * 2).replace("%", "/%").replace("_", "/_")


def _params(f: QueueFilter) -> dict[str, Any]:
    """Return the bound values of ``f``; its keys (and ``after``) are the statement's shape."""
    p: dict[str, Any] = {"tenant_id": f.tenant_id, "reader_org_id": f.reader_org_id}
    if f.unread_or_claimed_by is not None:
        p["unread_or_claimed_by"] = f.unread_or_claimed_by
    else:
        p["statuses"] = list(f.statuses)
    p.update({name: getattr(f, name) for name in _EQUALS if getattr(f, name) is not None})
    for name in ("priority_min", "priority_below", "due_from", "due_before", "countersign_by"):
        if getattr(f, name) is not None:
            p[name] = getattr(f, name)
    if f.modality:
        # Multi-modality studies are stored as "CT/SR"; codes hold no LIKE wildcards.
        p.update(
            modality=f.modality,
            modality_first=f"{f.modality}/%",
            modality_last=f"%/{f.modality}",
            modality_inner=f"%/{f.modality}/%",
        )
    if f.search:
        p.update(search=f.search, search_like=f"%{_like_escaped(f.search)}%")
        if f.search_key:
            p["search_prefix"] = f"{_like_escaped(f.search_key)}%"
    return p


def _search(with_key: bool) -> ColumnElement[bool]:
    alternatives = [
        WorklistItem.patient_name.like(bindparam("search_like"), escape=_ESCAPE),
        WorklistItem.accession_number == bindparam("search"),
        WorklistItem.patient_id == bindparam("search"),
    ]
    if with_key:
        alternatives += [
            WorklistItem.patient_name_initials.like(bindparam("search_prefix"), escape=_ESCAPE),
            WorklistItem.patient_name_pinyin.like(bindparam("search_prefix"), escape=_ESCAPE),
        ]
    return or_(*alternatives)


def _conditions(shape: frozenset[str]) -> list[ColumnElement[bool]]:
    cond: list[ColumnElement[bool]] = [
        WorklistItem.tenant_id == bindparam("tenant_id"),
        WorklistItem.reader_org_id == bindparam("reader_org_id"),
    ]
    if "unread_or_claimed_by" in shape:
        cond.append(
            or_(
                WorklistItem.status == "UNREAD",
                (WorklistItem.status == "CLAIMED")
                & (WorklistItem.claimed_by_id == bindparam("unread_or_claimed_by")),
            )
        )
    else:
        cond.append(WorklistItem.status.in_(bindparam("statuses", expanding=True)))
    cond += [column == bindparam(name) for name, column in _EQUALS.items() if name in shape]
    bounds = (
        ("priority_min", WorklistItem.priority.__ge__),
        ("priority_below", WorklistItem.priority.__lt__),
        ("due_from", WorklistItem.due_at.__ge__),
        ("due_before", WorklistItem.due_at.__lt__),
    )
    cond += [compare(bindparam(name)) for name, compare in bounds if name in shape]
    if "modality" in shape:
        cond.append(
            or_(
                WorklistItem.modality == bindparam("modality"),
                WorklistItem.modality.like(bindparam("modality_first")),
                WorklistItem.modality.like(bindparam("modality_last")),
                WorklistItem.modality.like(bindparam("modality_inner")),
            )
        )
    if "search" in shape:
        cond.append(_search("search_prefix" in shape))
    if "countersign_by" in shape:
        cond.append(
            exists().where(
                Report.study_id == WorklistItem.study_id,
                Report.status == "PRELIMINARY",
                Report.author_id != bindparam("countersign_by"),
            )
        )
    return cond


def _build(shape: frozenset[str], with_after: bool) -> Select[Any]:
    columns = [getattr(WorklistItem, name) for name in ROW_FIELDS]
    stmt = select(*columns).where(*_conditions(shape))
    if with_after:
        priority: BindParameter[int] = bindparam("after_priority")
        created_at: BindParameter[datetime] = bindparam("after_created_at")
        stmt = stmt.where(
            WorklistItem.priority <= priority,
            or_(
                WorklistItem.priority < priority,
                (WorklistItem.priority == priority) & (WorklistItem.created_at > created_at),
                (WorklistItem.priority == priority)
                & (WorklistItem.created_at == created_at)
                & (WorklistItem.id > bindparam("after_id")),
            ),
        )
    return stmt.order_by(
        WorklistItem.priority.desc(), WorklistItem.created_at.asc(), WorklistItem.id.asc()
    ).limit(bindparam("page_limit", type_=Integer))


_BUILT: dict[tuple[frozenset[str], bool], Select[Any]] = {}
_LOCK = threading.Lock()


def page(
    f: QueueFilter, *, after: tuple[int, datetime, uuid.UUID] | None, limit: int
) -> tuple[Select[Any], dict[str, Any]]:
    """Return the page statement of ``f``'s shape and the parameters to run it with.

    The item table alone (one index range scan); the claimer's and assignee's names come from
    ``service.display_names``, not from a join that could turn the plan into hash joins.

    Order: priority desc, oldest first, id; ``after`` is the sort key of the previous page's
    last row (keyset pagination).
    """
    params = _params(f)
    key = (frozenset(params), after is not None)
    stmt = _BUILT.get(key)
    if stmt is None:
        with _LOCK:
            stmt = _BUILT.setdefault(key, _build(key[0], key[1]))
    params["page_limit"] = limit
    if after is not None:
        params.update(after_priority=after[0], after_created_at=after[1], after_id=after[2])
    return stmt, params
