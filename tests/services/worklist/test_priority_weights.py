"""Per-consortium priority weights, re-scoring as time passes, and the reason read live."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import asdict, replace
from datetime import datetime, timedelta

import pytest

from services.domain.priority import (
    DUE_SOON_MINUTES,
    WEIGHT_RANGES,
    PriorityWeights,
    explain_at,
    out_of_range,
)
from services.domain.priority_band import PriorityBand, band_of
from services.kit import db as kit_db
from services.kit.clock import utc_now
from services.kit.db import session_scope
from services.models import Study, WorklistItem
from services.worklist import escalation, rescore_repository, service
from services.worklist.weights import RESCORE_TENANT
from services.worklist.weights_tasks import rescore_tenant
from tests.factories.tenant import Consortium
from tests.fixtures.api_client import Api
from tests.fixtures.databases import Database
from tests.services.worklist.conftest import add_study, assert_error

URL = "/api/v1/worklist-weights"
DEFAULTS = asdict(PriorityWeights())


def _set_and_score(
    db: Database, item_id: uuid.UUID, *, urgency: str, due_in: timedelta | None
) -> WorklistItem:
    """Give an item's study an urgency and the item a due time, and score it as now."""
    with session_scope(db.factory) as session:
        item = session.get_one(WorklistItem, item_id)
        study = session.get_one(Study, item.study_id)
        study.urgency = urgency
        item.due_at = None if due_in is None else utc_now() + due_in
        service.reprioritize(session, study=study)
    return item


def _item(db: Database, item_id: uuid.UUID) -> WorklistItem:
    with db.factory() as session:
        return session.get_one(WorklistItem, item_id)


def _run_queued_rescores() -> list[str]:
    sent = [m for m in kit_db.PUBLISHER.sent if m.task_name == RESCORE_TENANT]
    kit_db.PUBLISHER.sent[:] = [m for m in kit_db.PUBLISHER.sent if m not in sent]
    for message in sent:
        rescore_tenant(**message.kwargs)
    return [m.kwargs["tenant_id"] for m in sent]


def _ids(api: Api, account: object) -> list[str]:
    response = api.get(account, "/api/v1/worklist")  # type: ignore[arg-type]
    assert response.status_code == 200, response.text
    return [i["id"] for i in response.json()["items"]]


@pytest.mark.unit
class TestWeightBoundsKeepBands:
    def test_defaults_are_within_bounds(self) -> None:
        assert out_of_range(PriorityWeights()) == []

    def test_each_factor_alone_stays_in_its_band_at_every_bound(self) -> None:
        expected = {
            "critical": {PriorityBand.CRITICAL},
            "stat": {PriorityBand.HIGH},
            "overdue": {PriorityBand.HIGH},
            "urgent": {PriorityBand.NORMAL},
            "due_soon": {PriorityBand.NORMAL},
            "significant": {PriorityBand.NORMAL, PriorityBand.HIGH},
            "normal": {PriorityBand.LOW},
        }
        for name, bound in itertools.product(expected, (0, 1)):
            assert band_of(WEIGHT_RANGES[name][bound]) in expected[name], (name, bound)

    def test_out_of_range_names_the_weight_and_its_bounds(self) -> None:
        problems = out_of_range(replace(PriorityWeights(), critical=100))
        assert problems == ["critical must be between 600 and 2000, not 100"]


@pytest.mark.unit
class TestExplainAt:
    def test_due_minutes_are_rendered_for_now(self) -> None:
        now = datetime(2026, 11, 25, 8, 0)
        text = explain_at(
            "AI pending; STAT; due in 40 min; pediatric", now + timedelta(minutes=12), now
        )
        assert text == "AI pending; STAT; due in 12 min; pediatric"

    def test_passed_due_time_reads_overdue(self) -> None:
        now = datetime(2026, 11, 25, 8, 0)
        text = explain_at("AI failed; due in 3 min", now - timedelta(minutes=5), now)
        assert text == "AI failed; overdue by 5 min"

    def test_text_without_due_phrase_is_unchanged(self) -> None:
        now = datetime(2026, 11, 25, 8, 0)
        assert explain_at("AI: no finding", now, now) == "AI: no finding"


@pytest.mark.integration
class TestWeightsApi:
    def test_defaults_until_set(self, api: Api, consortium: Consortium) -> None:
        response = api.get(consortium.consortium_admin, URL)
        assert response.status_code == 200, response.text
        assert response.json() == DEFAULTS

    def test_put_stores_the_weights(self, api: Api, consortium: Consortium) -> None:
        body = {**DEFAULTS, "overdue": 550, "stat": 320}
        assert api.put(consortium.consortium_admin, URL, body).json() == body
        assert api.get(consortium.consortium_admin, URL).json() == body
        assert _run_queued_rescores() == [str(consortium.tenant_id)]

    def test_out_of_range_weight_is_422_naming_it(self, api: Api, consortium: Consortium) -> None:
        response = api.put(consortium.consortium_admin, URL, {**DEFAULTS, "critical": 100})
        assert_error(response, 422, "invalid_request", "critical", "600")
        assert api.get(consortium.consortium_admin, URL).json() == DEFAULTS

    def test_unknown_or_missing_weight_is_422(self, api: Api, consortium: Consortium) -> None:
        extra = api.put(consortium.consortium_admin, URL, {**DEFAULTS, "weekend": 5})
        assert_error(extra, 422, "invalid_request", "weekend")
        missing = {k: v for k, v in DEFAULTS.items() if k != "stat"}
        assert_error(
            api.put(consortium.consortium_admin, URL, missing), 422, "invalid_request", "stat"
        )

    def test_readers_and_platform_admins_may_not(self, api: Api, consortium: Consortium) -> None:
        for account in (
            consortium.radiologist,
            consortium.senior_radiologist,
            consortium.platform_admin,
        ):
            assert api.get(account, URL).status_code == 403
            assert api.put(account, URL, DEFAULTS).status_code == 403

    def test_other_consortiums_admin_neither_reads_nor_sets_ours(
        self, api: Api, use_database: Database, consortium: Consortium, other: Consortium
    ) -> None:
        ours = {**DEFAULTS, "overdue": 590}
        api.put(consortium.consortium_admin, URL, ours)
        item = add_study(use_database, consortium.clinic_a)
        before = _item(use_database, item.id).priority

        theirs = {**DEFAULTS, "no_ai": 0, "pediatric": 0}
        assert api.put(other.consortium_admin, URL, theirs).status_code == 200

        assert api.get(other.consortium_admin, URL).json() == theirs
        assert api.get(consortium.consortium_admin, URL).json() == ours
        assert str(other.tenant_id) in _run_queued_rescores()
        assert _item(use_database, item.id).priority == before


@pytest.mark.integration
class TestWeightsReorderTheList:
    def test_new_weights_rescore_open_items_and_reorder(
        self, api: Api, use_database: Database, consortium: Consortium
    ) -> None:
        stat = add_study(use_database, consortium.clinic_a)
        late = add_study(use_database, consortium.clinic_b)
        _set_and_score(use_database, stat.id, urgency="stat", due_in=timedelta(hours=3))
        _set_and_score(use_database, late.id, urgency="routine", due_in=-timedelta(minutes=5))
        assert _ids(api, consortium.radiologist) == [str(stat.id), str(late.id)]  # 400 > 300

        body = {**DEFAULTS, "stat": 300, "overdue": 599}
        assert api.put(consortium.consortium_admin, URL, body).status_code == 200
        assert _run_queued_rescores() == [str(consortium.tenant_id)]

        assert _ids(api, consortium.radiologist) == [str(late.id), str(stat.id)]
        assert _item(use_database, late.id).priority - _item(use_database, stat.id).priority == 299

    def test_new_items_are_scored_with_the_consortiums_weights(
        self, api: Api, use_database: Database, consortium: Consortium
    ) -> None:
        api.put(consortium.consortium_admin, URL, {**DEFAULTS, "no_ai": 0, "pediatric": 0})
        item = _set_and_score(
            use_database,
            add_study(use_database, consortium.clinic_a).id,
            urgency="routine",
            due_in=None,
        )
        assert item.priority == 0


@pytest.mark.integration
class TestTimeBasedRescore:
    def test_item_entering_due_soon_is_rescored_before_the_warning_window(
        self, use_database: Database, consortium: Consortium
    ) -> None:
        item = _set_and_score(
            use_database,
            add_study(use_database, consortium.clinic_a).id,
            urgency="routine",
            due_in=timedelta(minutes=45),
        )
        assert item.due_at is not None
        assert item.priority_rescore_at == item.due_at - timedelta(minutes=DUE_SOON_MINUTES)
        # 20 minutes on the item is due in 25: inside due-soon (30), outside the 15-min warning.
        later = utc_now() + timedelta(minutes=20)
        with session_scope(use_database.factory) as session:
            result = escalation.escalate(session, now=later)
        after = _item(use_database, item.id)
        assert result.rescored >= 1
        assert after.priority == item.priority + PriorityWeights().due_soon
        assert after.priority_rescore_at == after.due_at  # next change: the due time
        assert after.escalated_at is None  # the agreement's warning comes later
        assert "due in 24 min" in after.priority_reason or "due in 25 min" in after.priority_reason

    def test_overdue_item_is_rescored_once(
        self, use_database: Database, consortium: Consortium
    ) -> None:
        item = _set_and_score(
            use_database,
            add_study(use_database, consortium.clinic_a).id,
            urgency="routine",
            due_in=timedelta(minutes=10),
        )
        assert item.priority_rescore_at == item.due_at
        later = utc_now() + timedelta(minutes=15)
        with session_scope(use_database.factory) as session:
            escalation.escalate(session, now=later)
        first = _item(use_database, item.id)
        assert (
            first.priority == item.priority - PriorityWeights().due_soon + PriorityWeights().overdue
        )
        assert first.priority_rescore_at is None  # nothing changes any more
        with use_database.factory() as session:  # the next run does not pick it again
            stale = rescore_repository.due_for_rescore(
                session, now=later + timedelta(minutes=1), limit=10_000
            )
        assert item.id not in {i.id for i in stale}

    def test_window_is_the_list_filters(self) -> None:
        assert PriorityWeights.due_soon_minutes == DUE_SOON_MINUTES == 30


@pytest.mark.integration
class TestReasonReadLive:
    def test_list_renders_due_minutes_at_read_time(
        self, api: Api, use_database: Database, consortium: Consortium
    ) -> None:
        item = _set_and_score(
            use_database,
            add_study(use_database, consortium.clinic_a).id,
            urgency="stat",
            due_in=timedelta(minutes=50),
        )
        assert "due in 49 min" in item.priority_reason or "due in 50 min" in item.priority_reason
        # Time passes (38 min) without any re-score: only the due time is nearer now.
        with session_scope(use_database.factory) as session:
            session.get_one(WorklistItem, item.id).due_at = utc_now() + timedelta(minutes=12)

        row = next(
            i
            for i in api.get(consortium.radiologist, "/api/v1/worklist").json()["items"]
            if i["id"] == str(item.id)
        )
        assert f"; due in {row['due_in_minutes']} min" in row["priority_reason"]
        assert row["due_in_minutes"] in (11, 12)
        assert row["priority_reason"].startswith("AI pending; STAT; ")
