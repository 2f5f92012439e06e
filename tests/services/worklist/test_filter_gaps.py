"""GET /api/v1/worklist filters the list tests did not reach: ai_flag, body_part, due=due_soon."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import timedelta

import pytest

from services.inference_job import service as job_service
from services.kit.clock import utc_now
from services.kit.db import session_scope
from services.models import InferenceJob, Organization, WorklistItem
from services.study import service as study_service
from services.worklist import repository
from tests.factories import study as study_factory
from tests.factories.tenant import Account, Consortium
from tests.fixtures.api_client import Api
from tests.fixtures.databases import Database
from tests.services.worklist.conftest import add_study

pytestmark = pytest.mark.integration
URL = "/api/v1/worklist"


def _ids(api: Api, account: Account, **params: object) -> list[str]:
    response = api.get(account, URL, **params)
    assert response.status_code == 200, response.text
    return [i["id"] for i in response.json()["items"]]


def _with_body_part(db: Database, clinic: Organization, body_part: str) -> WorklistItem:
    """Register a CT study whose one series says ``BodyPartExamined = body_part``."""
    facts = study_factory.study_facts()
    series = dataclasses.replace(facts.series[0], body_part=body_part)
    with session_scope(db.factory) as session:
        study, _ = study_factory.register_study(
            session, clinic=clinic, facts=dataclasses.replace(facts, series=(series,))
        )
        item = repository.by_study(session, study.id)
        assert item is not None
    return item


def _due_in(db: Database, item: WorklistItem, minutes: float) -> None:
    with session_scope(db.factory) as session:
        session.get_one(WorklistItem, item.id).due_at = utc_now() + timedelta(minutes=minutes)


def _finish_ai(db: Database, study_id: uuid.UUID, *, succeeded: bool) -> None:
    """End the study's AI job like the inference worker does, then settle its AI status."""
    with session_scope(db.factory) as session:
        (job,) = session.query(InferenceJob).filter(InferenceJob.study_id == study_id).all()
        if succeeded:
            job_service.mark_succeeded(job=job, infer_ms=5, input_series_uid=None)
        else:
            job_service.mark_failed(job=job, reason="model unavailable")
        study_service.settle_ai_status(session, study_id=study_id)


class TestAiFlag:
    def test_each_ai_state_lists_only_its_items(
        self, api: Api, consortium: Consortium, use_database: Database
    ) -> None:
        pending = add_study(use_database, consortium.clinic_a)  # CT: the image model applies
        done = add_study(use_database, consortium.clinic_a)
        failed = add_study(use_database, consortium.clinic_b)
        skipped = add_study(use_database, consortium.clinic_a, modality="US")  # no model
        _finish_ai(use_database, done.study_id, succeeded=True)
        _finish_ai(use_database, failed.study_id, succeeded=False)
        reader = consortium.radiologist

        assert _ids(api, reader, ai_flag="AI_PENDING") == [str(pending.id)]
        assert _ids(api, reader, ai_flag="AI_DONE") == [str(done.id)]
        assert _ids(api, reader, ai_flag="AI_FAILED") == [str(failed.id)]
        assert _ids(api, reader, ai_flag="AI_SKIPPED") == [str(skipped.id)]
        assert _ids(api, reader, ai_flag="NONE") == []
        listed = {i["id"]: i["ai_flag"] for i in api.get(reader, URL).json()["items"]}
        assert listed == {
            str(pending.id): "AI_PENDING",
            str(done.id): "AI_DONE",
            str(failed.id): "AI_FAILED",
            str(skipped.id): "AI_SKIPPED",
        }

    def test_combines_with_other_filters_and_rejects_unknown_values(
        self, api: Api, consortium: Consortium, use_database: Database
    ) -> None:
        in_a = add_study(use_database, consortium.clinic_a)
        add_study(use_database, consortium.clinic_b)
        add_study(use_database, consortium.clinic_a, modality="US")

        assert _ids(
            api, consortium.radiologist, ai_flag="AI_PENDING", clinic=str(consortium.clinic_a.id)
        ) == [str(in_a.id)]
        response = api.get(consortium.radiologist, URL, ai_flag="DONE")
        assert response.status_code == 422, response.text
        assert "AI_DONE" in response.json()["message"]


class TestBodyPart:
    def test_matches_the_studys_body_part_in_any_letter_case(
        self, api: Api, consortium: Consortium, use_database: Database
    ) -> None:
        chest = _with_body_part(use_database, consortium.clinic_a, "CHEST")
        head = _with_body_part(use_database, consortium.clinic_a, "HEAD")
        add_study(use_database, consortium.clinic_a)  # no BodyPartExamined at all

        assert _ids(api, consortium.radiologist, body_part="CHEST") == [str(chest.id)]
        assert _ids(api, consortium.radiologist, body_part="chest") == [str(chest.id)]
        assert _ids(api, consortium.radiologist, body_part="Head") == [str(head.id)]
        assert _ids(api, consortium.radiologist, body_part="KNEE") == []

    def test_a_lower_case_value_from_the_device_is_found_too(
        self, api: Api, consortium: Consortium, use_database: Database
    ) -> None:
        # BodyPartExamined is a code string (upper case by the standard), but township
        # devices send "chest" too; the reader filtering "chest" must still find it.
        sent_lower = _with_body_part(use_database, consortium.clinic_a, "chest")

        assert _ids(api, consortium.radiologist, body_part="chest") == [str(sent_lower.id)]
        assert _ids(api, consortium.radiologist, body_part="CHEST") == [str(sent_lower.id)]

    def test_values_outside_the_code_string_alphabet_are_422(
        self, api: Api, consortium: Consortium
    ) -> None:
        for bad in ("CHEST%", "a" * 65, "HEAD'--"):
            response = api.get(consortium.radiologist, URL, body_part=bad)
            assert response.status_code == 422, (bad, response.text)
            assert response.json()["error"] == "invalid_request"


class TestDueSoon:
    def test_lists_open_items_due_within_the_window_only(
        self, api: Api, consortium: Consortium, use_database: Database
    ) -> None:
        soon = add_study(use_database, consortium.clinic_a)
        sooner = add_study(use_database, consortium.clinic_b)
        later = add_study(use_database, consortium.clinic_a)
        late = add_study(use_database, consortium.clinic_a)
        _due_in(use_database, soon, 20)
        _due_in(use_database, sooner, 5)
        _due_in(use_database, later, 45)  # outside the 30-minute due-soon window
        _due_in(use_database, late, -5)  # overdue, not "due soon"
        reader = consortium.radiologist

        listed = api.get(reader, URL, due="due_soon").json()["items"]

        assert sorted(i["id"] for i in listed) == sorted([str(soon.id), str(sooner.id)])
        assert {i["due_status"] for i in listed} == {"due_soon"}
        assert _ids(api, reader, due="overdue") == [str(late.id)]

    def test_a_claimed_item_due_soon_shows_under_its_status_only(
        self, api: Api, consortium: Consortium, use_database: Database
    ) -> None:
        held = add_study(use_database, consortium.clinic_a)
        _due_in(use_database, held, 10)
        assert api.post(consortium.radiologist, f"{URL}/{held.id}/claim").status_code == 200

        assert _ids(api, consortium.radiologist, due="due_soon") == []
        assert _ids(api, consortium.radiologist, due="due_soon", status="CLAIMED") == [str(held.id)]
