"""Turnaround figures and SLA breach counts for a hospital's admins and readers.

Turnaround is measured from the study's arrival (``study.received_at``) to: the AI result (the
last successful inference job), the first claim, and the signed report. Each is given as
p50/p90/p95 in minutes, per clinic, per reader or per priority band, over a period of arrivals.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy.orm import Session

from services.auth.principal import Principal
from services.domain.priority_band import band_of
from services.domain.roles import ADMIN_ROLES
from services.domain.turnaround import Summary, summarize
from services.kit.errors import InvalidInput, NotFound
from services.worklist import figures_repository, sla_repository

GroupBy = Literal["clinic", "reader", "priority_band"]
UNASSIGNED = "unassigned"


@dataclass(frozen=True)
class TurnaroundGroup:
    """The figures of one clinic, reader or band."""

    key: str
    label: str
    items: int
    received_to_ai: Summary
    received_to_claim: Summary
    received_to_signed: Summary


@dataclass(frozen=True)
class BreachCount:
    """How many items of one clinic or reader breached their due time."""

    key: str
    label: str
    breaches: int


def _hospital(
    session: Session, principal: Principal, hospital_id: uuid.UUID | None
) -> tuple[uuid.UUID, uuid.UUID | None]:
    """Return (tenant, hospital or None for all) the caller may see; 404 for anything else."""
    tenant_id, own = principal.tenant_id, principal.organization_id
    if tenant_id is None or own is None:
        raise NotFound("No such hospital in your consortium.")
    if principal.has_any(ADMIN_ROLES):
        if hospital_id is None:
            return tenant_id, None
        if figures_repository.hospital_of_tenant(session, tenant_id=tenant_id, org_id=hospital_id):
            return tenant_id, hospital_id
        raise NotFound("No such hospital in your consortium.")
    if hospital_id not in (None, own):
        raise NotFound("No such hospital in your consortium.")
    return tenant_id, own


def _check_period(since: datetime, until: datetime) -> None:
    if until <= since:
        raise InvalidInput("The period is empty: 'until' must be later than 'since'.")


def _minutes(start: datetime, end: datetime | None) -> float | None:
    return None if end is None else max((end - start).total_seconds() / 60, 0.0)


def _group_key(
    group_by: GroupBy, clinic: uuid.UUID, reader: uuid.UUID | None, priority: int
) -> tuple[str, uuid.UUID | None]:
    if group_by == "clinic":
        return str(clinic), clinic
    if group_by == "reader":
        return (str(reader), reader) if reader else (UNASSIGNED, None)
    return band_of(priority).value, None


def turnaround(
    session: Session,
    *,
    principal: Principal,
    since: datetime,
    until: datetime,
    group_by: GroupBy,
    hospital_id: uuid.UUID | None = None,
) -> list[TurnaroundGroup]:
    """Return turnaround percentiles of the items that arrived in ``[since, until)``."""
    _check_period(since, until)
    tenant_id, reader_org_id = _hospital(session, principal, hospital_id)
    rows = figures_repository.turnaround_rows(
        session, tenant_id=tenant_id, reader_org_id=reader_org_id, since=since, until=until
    )
    buckets: dict[str, list[list[float]]] = defaultdict(lambda: [[], [], []])
    counts: dict[str, int] = defaultdict(int)
    ids: dict[str, uuid.UUID] = {}
    for clinic, reader, priority, received, ai_done, claimed, signed in rows:
        key, ident = _group_key(group_by, clinic, reader, priority)
        if ident is not None:
            ids[key] = ident
        counts[key] += 1
        for series, end in zip(buckets[key], (ai_done, claimed, signed), strict=True):
            value = _minutes(received, end)
            if value is not None:
                series.append(value)
    labels = figures_repository.names(
        session,
        tenant_id=tenant_id,
        org_ids=set(ids.values()) if group_by == "clinic" else set(),
        user_ids=set(ids.values()) if group_by == "reader" else set(),
    )
    return [
        TurnaroundGroup(
            key=key,
            label=labels.get(ids[key], key) if key in ids else key,
            items=counts[key],
            received_to_ai=summarize(series[0]),
            received_to_claim=summarize(series[1]),
            received_to_signed=summarize(series[2]),
        )
        for key, series in sorted(buckets.items())
    ]


def breaches(
    session: Session,
    *,
    principal: Principal,
    since: datetime,
    until: datetime,
    by: Literal["clinic", "reader"],
    hospital_id: uuid.UUID | None = None,
) -> list[BreachCount]:
    """Return SLA breaches marked in ``[since, until)`` per clinic or per reader."""
    _check_period(since, until)
    tenant_id, reader_org_id = _hospital(session, principal, hospital_id)
    rows = sla_repository.breaches_by(
        session, tenant_id=tenant_id, reader_org_id=reader_org_id, since=since, until=until, by=by
    )
    present = {ident for ident, _count in rows if ident is not None}
    labels = figures_repository.names(
        session,
        tenant_id=tenant_id,
        org_ids=present if by == "clinic" else set(),
        user_ids=present if by == "reader" else set(),
    )
    return [
        BreachCount(
            key=str(ident) if ident else UNASSIGNED,
            label=labels.get(ident, str(ident)) if ident else UNASSIGNED,
            breaches=int(count),
        )
        for ident, count in rows
    ]
