"""Worklist items as the API shows them, serialized cheaply.

A page is 50 rows of 35 fields. Building and validating a response model per row, then
validating the page again as the response model, took longer than the query itself (~1 ms
against 0.3 ms). Rows become plain dicts of exactly the ``WorklistItemRead`` fields and the page
is written by pydantic's Rust serializer in one call (0.2 ms); a test checks the JSON against
``WorklistPage``.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import TypeAdapter

from services.domain.priority import PriorityWeights, explain_at
from services.domain.priority_band import band_of
from services.domain.sla import SlaState, sla_state
from services.worklist.schemas import DueStatus, WorklistItemRead

DUE_SOON_MINUTES = PriorityWeights().due_soon_minutes  # the same window as ``due=due_soon``
_OPEN = ("UNREAD", "CLAIMED")
_JSON: TypeAdapter[Any] = TypeAdapter(Any)  # uuid/datetime as pydantic writes them

# Columns read straight from the item row; the other fields are computed from them.
ROW_FIELDS = (
    "id", "study_id", "clinic_org_id", "status", "priority", "priority_reason", "ai_flag",
    "critical", "critical_source", "due_at", "breached_at", "escalated_at", "sla_category",
    "claimed_by_id", "claimed_at", "lock_expires_at", "assigned_to_id", "assigned_at",
    "created_at", "patient_name", "patient_id", "patient_type", "modality", "body_part",
    "study_description", "accession_number", "reported_at",
)  # fmt: skip


def due_status(
    *, status: str, due_at: datetime | None, reported_at: datetime | None, now: datetime
) -> DueStatus:
    """Return none / ok / due_soon / overdue for open items, met / breached for reported ones."""
    if due_at is None:
        return "none"
    if status not in _OPEN:
        return "met" if reported_at is None or reported_at <= due_at else "breached"
    state = sla_state(due_at, now, warn_minutes=DUE_SOON_MINUTES)
    if state is SlaState.OK:
        return "ok"
    return "due_soon" if state is SlaState.DUE_SOON else "overdue"


def to_fields(
    item: Any, *, now: datetime, names: dict[uuid.UUID, str] | None = None
) -> dict[str, Any]:
    """Return the fields of ``WorklistItemRead`` for ``item`` (an ORM item or a list row).

    ``names`` maps user ids to display names, for the claimer and the assignee.
    """
    values = {name: getattr(item, name) for name in ROW_FIELDS}
    reported_at = values.pop("reported_at")
    due_at: datetime | None = values["due_at"]
    status = due_status(status=values["status"], due_at=due_at, reported_at=reported_at, now=now)
    lookup = names or {}
    values["priority_band"] = band_of(values["priority"]).value
    if values["status"] in _OPEN:  # the minutes of "due in N min" as of now, not of scoring
        values["priority_reason"] = explain_at(values["priority_reason"], due_at, now)
    values["due_status"] = status
    values["due_in_minutes"] = None if due_at is None else int((due_at - now).total_seconds() // 60)
    values["breached"] = values["breached_at"] is not None or status in ("overdue", "breached")
    values["claimed_by_name"] = lookup.get(values["claimed_by_id"])
    values["assigned_to_name"] = lookup.get(values["assigned_to_id"])
    return values


def to_read(
    item: Any, *, now: datetime, names: dict[uuid.UUID, str] | None = None
) -> WorklistItemRead:
    """Return the API view of ``item`` at ``now`` (see ``to_fields``)."""
    return WorklistItemRead.model_construct(**to_fields(item, now=now, names=names))


def page_json(items: list[dict[str, Any]], next_cursor: str | None) -> bytes:
    """Return the JSON body of one page (``WorklistPage``) from ``to_fields`` dicts."""
    return _JSON.dump_json({"items": items, "next_cursor": next_cursor})
