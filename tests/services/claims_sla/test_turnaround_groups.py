"""Turnaround percentiles per reader and per priority band, on known timelines.

Two readers claim (through the API) and sign items whose arrival, AI, claim and signing
times are then set to known minutes after 08:00; one item nobody touched is "unassigned".
Percentiles interpolate linearly between ranks (numpy's default), so every value is exact.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import update

from services.kit.db import session_scope
from services.models import InferenceJob, Study, WorklistItem
from services.worklist import service as worklist_service
from tests.factories.tenant import Account, Consortium
from tests.fixtures.api_client import Api
from tests.fixtures.databases import Database
from tests.services.claims_sla.conftest import add_study

pytestmark = pytest.mark.integration

DAY = datetime(2026, 2, 9, 8, 0, tzinfo=UTC)
PERIOD = {"since": "2026-02-09T00:00:00Z", "until": "2026-02-10T00:00:00Z"}
URL = "/api/v1/figures/turnaround"


@dataclass(frozen=True)
class Timeline:
    """Minutes after arrival (None: did not happen), the reader and the item's priority."""

    reader: str | None
    priority: int
    claim: float | None
    signed: float | None = None
    ai: float | None = None
    received: datetime = DAY


PLAN = [
    Timeline("radiologist", 700, claim=10, signed=20, ai=5),
    Timeline("radiologist", 650, claim=20, signed=40, ai=10),
    Timeline("radiologist", 600, claim=30, signed=60, ai=15),
    Timeline("radiologist", 350, claim=40, signed=80),
    Timeline("radiologist", 300, claim=50, signed=100),
    Timeline("senior_radiologist", 150, claim=5, signed=10),
    Timeline("senior_radiologist", 50, claim=15),
    Timeline(None, 50, claim=None),
    # Arrived the day before: outside the period, must count nowhere.
    Timeline("radiologist", 700, claim=1, signed=2, ai=1, received=DAY - timedelta(days=1)),
]


def _after(start: datetime, minutes: float | None) -> datetime | None:
    return None if minutes is None else start + timedelta(minutes=minutes)


def _build(api: Api, db: Database, consortium: Consortium) -> None:
    for step in PLAN:
        study, item = add_study(db, consortium.clinic_a)
        if step.reader is not None:
            claimed = api.post(consortium.account(step.reader), f"/api/v1/worklist/{item.id}/claim")
            assert claimed.status_code == 200, claimed.text
        with session_scope(db.factory) as session:
            if step.signed is not None:
                worklist_service.mark_reported(item=session.get_one(WorklistItem, item.id))
                session.flush()
            session.execute(
                update(Study).where(Study.id == study.id).values(received_at=step.received)
            )
            session.execute(
                update(WorklistItem)
                .where(WorklistItem.id == item.id)
                .values(
                    priority=step.priority,
                    first_claimed_at=_after(step.received, step.claim),
                    reported_at=_after(step.received, step.signed),
                )
            )
            if step.ai is not None:
                session.add(
                    InferenceJob(
                        tenant_id=study.tenant_id,
                        study_id=study.id,
                        model_name="turnaround-groups",
                        model_version="1",
                        status="SUCCEEDED",
                        finished_at=_after(step.received, step.ai),
                    )
                )


def _p(count: int, p50: float | None, p90: float | None, p95: float | None) -> dict[str, Any]:
    return {"count": count, "p50": p50, "p90": p90, "p95": p95}


NONE = _p(0, None, None, None)


def _groups(api: Api, account: Account, group_by: str) -> dict[str, dict[str, Any]]:
    response = api.get(account, URL, group_by=group_by, **PERIOD)
    assert response.status_code == 200, response.text
    return {g.pop("key"): g for g in response.json()}


def test_per_reader_percentiles(api: Api, use_database: Database, consortium: Consortium) -> None:
    _build(api, use_database, consortium)
    reader, senior = consortium.radiologist, consortium.senior_radiologist

    groups = _groups(api, consortium.consortium_admin, "reader")

    assert groups == {
        str(reader.user_id): {
            "label": "Test radiologist",
            "items": 5,
            "received_to_ai": _p(3, 10.0, 14.0, 14.5),
            "received_to_claim": _p(5, 30.0, 46.0, 48.0),
            "received_to_signed": _p(5, 60.0, 92.0, 96.0),
        },
        str(senior.user_id): {
            "label": "Test senior_radiologist",
            "items": 2,
            "received_to_ai": NONE,
            "received_to_claim": _p(2, 10.0, 14.0, 14.5),
            "received_to_signed": _p(1, 10.0, 10.0, 10.0),
        },
        "unassigned": {
            "label": "unassigned",
            "items": 1,
            "received_to_ai": NONE,
            "received_to_claim": NONE,
            "received_to_signed": NONE,
        },
    }
    # A reader of the hospital sees the same figures of their own hospital.
    assert _groups(api, reader, "reader") == groups


def test_per_priority_band_percentiles(
    api: Api, use_database: Database, consortium: Consortium
) -> None:
    _build(api, use_database, consortium)

    groups = _groups(api, consortium.consortium_admin, "priority_band")

    assert groups == {
        "critical": {
            "label": "critical",
            "items": 3,
            "received_to_ai": _p(3, 10.0, 14.0, 14.5),
            "received_to_claim": _p(3, 20.0, 28.0, 29.0),
            "received_to_signed": _p(3, 40.0, 56.0, 58.0),
        },
        "high": {
            "label": "high",
            "items": 2,
            "received_to_ai": NONE,
            "received_to_claim": _p(2, 45.0, 49.0, 49.5),
            "received_to_signed": _p(2, 90.0, 98.0, 99.0),
        },
        "normal": {
            "label": "normal",
            "items": 1,
            "received_to_ai": NONE,
            "received_to_claim": _p(1, 5.0, 5.0, 5.0),
            "received_to_signed": _p(1, 10.0, 10.0, 10.0),
        },
        "low": {
            "label": "low",
            "items": 2,
            "received_to_ai": NONE,
            "received_to_claim": _p(1, 15.0, 15.0, 15.0),
            "received_to_signed": NONE,
        },
    }


def test_assigned_but_unclaimed_item_counts_for_its_assignee(
    api: Api, use_database: Database, consortium: Consortium
) -> None:
    study, item = add_study(use_database, consortium.clinic_a)
    reader: uuid.UUID = consortium.radiologist.user_id
    with session_scope(use_database.factory) as session:
        session.execute(update(Study).where(Study.id == study.id).values(received_at=DAY))
        session.execute(
            update(WorklistItem).where(WorklistItem.id == item.id).values(assigned_to_id=reader)
        )

    groups = _groups(api, consortium.consortium_admin, "reader")

    assert list(groups) == [str(reader)]
    assert (groups[str(reader)]["items"], groups[str(reader)]["received_to_claim"]) == (1, NONE)
