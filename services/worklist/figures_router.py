"""Admin figures: turnaround percentiles and SLA breach counts (admins and hospital readers)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from services.auth.dependencies import require_roles
from services.auth.principal import Principal
from services.domain.roles import ADMIN_ROLES, READER_ROLES
from services.kit.clock import utc_now
from services.kit.errors import InvalidInput
from services.kit.http import DbSession
from services.worklist import figures

router = APIRouter(prefix="/api/v1/figures", tags=["figures"])
Viewer = Annotated[Principal, Depends(require_roles(*READER_ROLES, *ADMIN_ROLES))]
MAX_PERIOD = timedelta(days=366)


class Percentiles(BaseModel):
    """Count and percentiles in minutes (None when nothing was measured)."""

    count: int
    p50: float | None
    p90: float | None
    p95: float | None


class TurnaroundRead(BaseModel):
    """Turnaround of one clinic, reader or priority band."""

    key: str
    label: str
    items: int
    received_to_ai: Percentiles
    received_to_claim: Percentiles
    received_to_signed: Percentiles


class BreachRead(BaseModel):
    """SLA breaches of one clinic or reader."""

    key: str
    label: str
    breaches: int


def _period(since: datetime | None, until: datetime | None) -> tuple[datetime, datetime]:
    end = until or utc_now()
    start = since or end - timedelta(days=30)
    if start.tzinfo is None or end.tzinfo is None:
        raise InvalidInput("Give 'since' and 'until' with a time zone, e.g. 2026-11-01T00:00:00Z.")
    if end - start > MAX_PERIOD:
        raise InvalidInput("The period may be at most 366 days long.")
    return start, end


@router.get("/turnaround", response_model=list[TurnaroundRead])
def turnaround(
    session: DbSession,
    principal: Viewer,
    group_by: Literal["clinic", "reader", "priority_band"] = "clinic",
    since: datetime | None = None,
    until: datetime | None = None,
    hospital_id: uuid.UUID | None = None,
) -> list[TurnaroundRead]:
    """Received-to-AI, -to-claim and -to-signed percentiles (default: the last 30 days)."""
    start, end = _period(since, until)
    groups = figures.turnaround(
        session,
        principal=principal,
        since=start,
        until=end,
        group_by=group_by,
        hospital_id=hospital_id,
    )
    return [
        TurnaroundRead(
            key=g.key,
            label=g.label,
            items=g.items,
            received_to_ai=Percentiles(**vars(g.received_to_ai)),
            received_to_claim=Percentiles(**vars(g.received_to_claim)),
            received_to_signed=Percentiles(**vars(g.received_to_signed)),
        )
        for g in groups
    ]


@router.get("/sla-breaches", response_model=list[BreachRead])
def sla_breaches(
    session: DbSession,
    principal: Viewer,
    by: Literal["clinic", "reader"] = "clinic",
    since: datetime | None = None,
    until: datetime | None = None,
    hospital_id: uuid.UUID | None = None,
) -> list[BreachRead]:
    """Items that breached their report due time, per clinic or per reader."""
    start, end = _period(since, until)
    counts = figures.breaches(
        session, principal=principal, since=start, until=end, by=by, hospital_id=hospital_id
    )
    return [BreachRead(key=c.key, label=c.label, breaches=c.breaches) for c in counts]
