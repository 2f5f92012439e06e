from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from services.contracts.ingest import StudyFacts
from services.contracts.task_names import QUEUE_INFERENCE, RUN_INFERENCE
from services.inference_job import service as job_service
from services.kit import db as kit_db
from services.kit.clock import utc_now
from services.kit.db import OutboxMessage, session_scope
from services.kit.errors import Conflict
from services.kit.settings import get_settings
from services.models import InferenceJob, Organization, Series, Study, WorklistItem
from services.study import service as study_service
from tests.factories import study as study_factory
from tests.factories import tenant as tenant_factory
from tests.factories.tenant import Organizations
from tests.fixtures.databases import Database

pytestmark = pytest.mark.integration

LEASE_S = 300


@pytest.fixture
def consortium(use_database: Database) -> Organizations:
    return tenant_factory.build_organizations(use_database.factory)


# ``study`` (tests/services/conftest.py) is a CT study of this consortium's clinic A: the
# default image-quality model applies to it.


def _jobs(db: Database, study_id: uuid.UUID) -> list[InferenceJob]:
    with db.factory() as session:
        return job_service.jobs_of_study(session, study_id)


def _only_job(db: Database, study_id: uuid.UUID) -> InferenceJob:
    (job,) = _jobs(db, study_id)
    return job


def _set_job(db: Database, job_id: uuid.UUID, **values: object) -> None:
    with session_scope(db.factory) as session:
        session.execute(update(InferenceJob).where(InferenceJob.id == job_id).values(**values))


def _register_then_crash(db: Database, clinic: Organization, facts: StudyFacts) -> None:
    with session_scope(db.factory) as session:
        study_factory.register_study(session, clinic=clinic, facts=facts)
        raise RuntimeError("crash before commit")


def _claim(db: Database, job_id: uuid.UUID) -> job_service.ClaimedJob | None:
    with session_scope(db.factory) as session:
        return job_service.claim(session, job_id=job_id, lease_s=LEASE_S)


class TestRegisterCreatesJobs:
    def test_one_queued_job_per_applicable_model(
        self, use_database: Database, study: Study
    ) -> None:
        job = _only_job(use_database, study.id)
        assert (job.model_name, job.model_version, job.status, job.attempts) == (
            "image_quality",
            "1",
            "QUEUED",
            0,
        )
        assert job.tenant_id == study.tenant_id
        assert study.ai_status == "AI_PENDING"

    def test_each_applicable_model_gets_its_own_job(
        self, use_database: Database, consortium: Organizations, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        models = [
            {"name": "ct_head", "version": "2", "modalities": ["CT"]},
            {"name": "chest_xray", "version": "1", "modalities": ["DX", "CR"]},
            {"name": "image_quality", "version": "1", "modalities": ["CT", "MR"]},
        ]
        monkeypatch.setenv("RADBRIDGE_AI_MODELS", json.dumps(models))
        get_settings.cache_clear()
        with session_scope(use_database.factory) as session:
            study, _ = study_factory.register_study(session, clinic=consortium.clinic_a)

        jobs = _jobs(use_database, study.id)
        assert sorted((j.model_name, j.model_version) for j in jobs) == [
            ("ct_head", "2"),
            ("image_quality", "1"),
        ]
        assert sorted(m.kwargs["job_id"] for m in kit_db.PUBLISHER.sent) == sorted(
            str(j.id) for j in jobs
        )

    def test_outbox_message_carries_only_the_job_id(
        self, use_database: Database, study: Study
    ) -> None:
        job = _only_job(use_database, study.id)
        assert kit_db.PUBLISHER.sent == [
            OutboxMessage(RUN_INFERENCE, {"job_id": str(job.id)}, QUEUE_INFERENCE)
        ]

    def test_nothing_is_published_when_registration_rolls_back(
        self, use_database: Database, consortium: Organizations
    ) -> None:
        facts = study_factory.study_facts()
        with pytest.raises(RuntimeError, match="crash before commit"):
            _register_then_crash(use_database, consortium.clinic_a, facts)
        assert kit_db.PUBLISHER.sent == []
        with use_database.factory() as session:
            stmt = select(Study).where(Study.study_instance_uid == facts.study_instance_uid)
            assert session.scalar(stmt) is None

    def test_study_is_on_the_reading_hospital_worklist_at_once(
        self, use_database: Database, consortium: Organizations, study: Study
    ) -> None:
        with use_database.factory() as session:
            item = session.scalar(select(WorklistItem).where(WorklistItem.study_id == study.id))
        assert item is not None
        assert (item.reader_org_id, item.status, item.ai_flag) == (
            consortium.hospital.id,
            "UNREAD",
            "AI_PENDING",
        )
        assert study.status == "UNREAD"


class TestRegisterAgain:
    def test_same_facts_create_no_new_job_item_or_message(
        self, use_database: Database, consortium: Organizations
    ) -> None:
        facts = study_factory.study_facts()
        with session_scope(use_database.factory) as session:
            first, created = study_factory.register_study(
                session, clinic=consortium.clinic_a, facts=facts
            )
        assert created
        kit_db.PUBLISHER.sent.clear()

        with session_scope(use_database.factory) as session:
            again, created = study_factory.register_study(
                session, clinic=consortium.clinic_a, facts=facts
            )

        assert (again.id, created) == (first.id, False)
        assert len(_jobs(use_database, first.id)) == 1
        assert kit_db.PUBLISHER.sent == []
        with use_database.factory() as session:
            items = session.scalar(
                select(func.count())
                .select_from(WorklistItem)
                .where(WorklistItem.study_id == first.id)
            )
        assert items == 1

    def test_late_series_are_added(self, use_database: Database, consortium: Organizations) -> None:
        facts = study_factory.study_facts()
        with session_scope(use_database.factory) as session:
            first, _ = study_factory.register_study(
                session, clinic=consortium.clinic_a, facts=facts
            )
        later = study_factory.with_late_series(facts)

        with session_scope(use_database.factory) as session:
            study_factory.register_study(session, clinic=consortium.clinic_a, facts=later)

        with use_database.factory() as session:
            uids = set(
                session.scalars(
                    select(Series.series_instance_uid).where(Series.study_id == first.id)
                )
            )
            study = session.get(Study, first.id)
        assert uids == {s.series_instance_uid for s in later.series}
        assert study is not None
        assert study.instance_count == 2
        assert len(_jobs(use_database, first.id)) == 1

    def test_same_uid_from_another_clinic_is_refused(
        self, use_database: Database, consortium: Organizations
    ) -> None:
        facts = study_factory.study_facts()
        with session_scope(use_database.factory) as session:
            study_factory.register_study(session, clinic=consortium.clinic_a, facts=facts)

        with (
            pytest.raises(Conflict, match="another clinic"),
            session_scope(use_database.factory) as session,
        ):
            study_factory.register_study(session, clinic=consortium.clinic_b, facts=facts)


class TestClaim:
    def test_lease_is_given_once(self, use_database: Database, study: Study) -> None:
        job = _only_job(use_database, study.id)

        first = _claim(use_database, job.id)
        second = _claim(use_database, job.id)

        assert first is not None
        assert (first.job_id, first.study_id, first.attempt) == (job.id, study.id, 1)
        assert (first.model_name, first.model_version) == ("image_quality", "1")
        assert second is None
        leased = _only_job(use_database, study.id)
        assert leased.status == "RUNNING"
        assert leased.lease_until is not None
        assert leased.lease_until > utc_now() + timedelta(seconds=LEASE_S - 60)

    def test_expired_lease_can_be_reclaimed(self, use_database: Database, study: Study) -> None:
        job = _only_job(use_database, study.id)
        assert _claim(use_database, job.id) is not None
        _set_job(use_database, job.id, lease_until=utc_now() - timedelta(seconds=1))

        again = _claim(use_database, job.id)

        assert again is not None
        assert again.attempt == 2

    @pytest.mark.parametrize("status", ["SUCCEEDED", "FAILED"])
    def test_finished_job_is_not_claimed(
        self, use_database: Database, study: Study, status: str
    ) -> None:
        job = _only_job(use_database, study.id)
        _set_job(use_database, job.id, status=status)
        assert _claim(use_database, job.id) is None

    def test_unknown_job_is_not_claimed(self, use_database: Database) -> None:
        assert _claim(use_database, uuid.uuid4()) is None


class TestSweepStale:
    def _sweep(self, db: Database, *, max_attempts: int) -> tuple[int, int]:
        with session_scope(db.factory) as session:
            return job_service.sweep_stale(session, lease_s=LEASE_S, max_attempts=max_attempts)

    def test_running_job_past_its_lease_is_requeued(
        self, use_database: Database, study: Study
    ) -> None:
        job = _only_job(use_database, study.id)
        assert _claim(use_database, job.id) is not None
        _set_job(use_database, job.id, lease_until=utc_now() - timedelta(minutes=1))
        kit_db.PUBLISHER.sent.clear()

        requeued, _ = self._sweep(use_database, max_attempts=5)

        assert requeued >= 1  # the database is shared: other tests' stale jobs may count too
        swept = _only_job(use_database, study.id)
        assert (swept.status, swept.lease_until, swept.attempts) == ("QUEUED", None, 1)
        assert OutboxMessage(RUN_INFERENCE, {"job_id": str(job.id)}, QUEUE_INFERENCE) in (
            kit_db.PUBLISHER.sent
        )

    def test_job_out_of_attempts_is_failed(self, use_database: Database, study: Study) -> None:
        job = _only_job(use_database, study.id)
        assert _claim(use_database, job.id) is not None
        _set_job(use_database, job.id, attempts=3, lease_until=utc_now() - timedelta(minutes=1))
        kit_db.PUBLISHER.sent.clear()

        _, failed = self._sweep(use_database, max_attempts=3)

        assert failed >= 1
        swept = _only_job(use_database, study.id)
        assert swept.status == "FAILED"
        assert swept.error == "gave up after 3 attempts"
        assert swept.lease_until is None
        assert all(m.kwargs != {"job_id": str(job.id)} for m in kit_db.PUBLISHER.sent)

    def test_running_job_within_its_lease_is_left_alone(
        self, use_database: Database, study: Study
    ) -> None:
        job = _only_job(use_database, study.id)
        assert _claim(use_database, job.id) is not None

        self._sweep(use_database, max_attempts=5)

        assert _only_job(use_database, study.id).status == "RUNNING"

    def test_queued_job_never_picked_up_is_sent_again(
        self, use_database: Database, study: Study
    ) -> None:
        job = _only_job(use_database, study.id)
        _set_job(use_database, job.id, updated_at=utc_now() - timedelta(seconds=LEASE_S + 60))
        kit_db.PUBLISHER.sent.clear()

        self._sweep(use_database, max_attempts=5)

        assert _only_job(use_database, study.id).status == "QUEUED"
        assert OutboxMessage(RUN_INFERENCE, {"job_id": str(job.id)}, QUEUE_INFERENCE) in (
            kit_db.PUBLISHER.sent
        )


class TestSettleAiStatus:
    def test_only_job_failed_makes_study_ai_failed_and_item_follows(
        self, use_database: Database, study: Study
    ) -> None:
        job = _only_job(use_database, study.id)
        with session_scope(use_database.factory) as session:
            job_service.mark_failed(job=session.get_one(InferenceJob, job.id), reason="x")

        with session_scope(use_database.factory) as session:
            settled = study_service.settle_ai_status(session, study_id=study.id)

        assert settled.ai_status == "AI_FAILED"
        with use_database.factory() as session:
            item = session.scalar(select(WorklistItem).where(WorklistItem.study_id == study.id))
        assert item is not None
        assert item.ai_flag == "AI_FAILED"
        assert item.priority_reason.startswith("AI failed")

    def test_succeeded_job_makes_study_ai_done(self, use_database: Database, study: Study) -> None:
        job = _only_job(use_database, study.id)
        with session_scope(use_database.factory) as session:
            job_service.mark_succeeded(
                job=session.get_one(InferenceJob, job.id),
                infer_ms=12,
                input_series_uid=None,
            )
            settled = study_service.settle_ai_status(session, study_id=study.id)

        assert settled.ai_status == "AI_DONE"
        with use_database.factory() as session:
            item = session.scalar(select(WorklistItem).where(WorklistItem.study_id == study.id))
        assert item is not None
        assert (item.ai_flag, item.priority_reason.split(";")[0]) == ("AI_DONE", "AI: no finding")

    def test_running_job_keeps_study_pending(self, use_database: Database, study: Study) -> None:
        job = _only_job(use_database, study.id)
        assert _claim(use_database, job.id) is not None

        with session_scope(use_database.factory) as session:
            settled = study_service.settle_ai_status(session, study_id=study.id)

        assert settled.ai_status == "AI_PENDING"


class TestSettleStuckAi:
    def test_study_whose_job_the_sweeper_failed_becomes_ai_failed(
        self, use_database: Database, study: Study
    ) -> None:
        job = _only_job(use_database, study.id)
        assert _claim(use_database, job.id) is not None
        _set_job(use_database, job.id, attempts=5, lease_until=utc_now() - timedelta(minutes=1))
        with session_scope(use_database.factory) as session:
            job_service.sweep_stale(session, lease_s=LEASE_S, max_attempts=5)

        with session_scope(use_database.factory) as session:
            settled = study_service.settle_stuck_ai(session)

        assert settled >= 1  # the database is shared: other tests' studies may count too
        with use_database.factory() as session:
            assert session.get_one(Study, study.id).ai_status == "AI_FAILED"
            item = session.scalar(select(WorklistItem).where(WorklistItem.study_id == study.id))
        assert item is not None
        assert item.ai_flag == "AI_FAILED"

    def test_study_with_a_live_job_is_left_pending(
        self, use_database: Database, study: Study
    ) -> None:
        with session_scope(use_database.factory) as session:
            study_service.settle_stuck_ai(session)

        with use_database.factory() as session:
            assert session.get_one(Study, study.id).ai_status == "AI_PENDING"


class TestModalityWithoutModel:
    def test_study_is_ai_skipped_and_still_on_the_worklist(
        self, use_database: Database, consortium: Organizations
    ) -> None:
        facts = study_factory.study_facts(modality="US")
        with session_scope(use_database.factory) as session:
            study, _ = study_factory.register_study(
                session, clinic=consortium.clinic_a, facts=facts
            )

        assert (study.modality, study.ai_status, study.status) == ("US", "AI_SKIPPED", "UNREAD")
        assert _jobs(use_database, study.id) == []
        assert kit_db.PUBLISHER.sent == []
        with use_database.factory() as session:
            item = session.scalar(select(WorklistItem).where(WorklistItem.study_id == study.id))
        assert item is not None
        assert (item.status, item.ai_flag) == ("UNREAD", "AI_SKIPPED")
        assert item.priority_reason.startswith("no AI model applies")
