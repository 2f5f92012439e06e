"""Dead-letter API: consortium admins list AI jobs that failed for good and replay them.

Replay puts the job back in the queue with a fresh attempt budget, the study back to AI_PENDING,
sends the task only after commit and is audited. Other tenants get 404, other roles 403.
"""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select, update

from services.contracts.task_names import QUEUE_INFERENCE, RUN_INFERENCE
from services.kit import db as kit_db
from services.kit.clock import utc_now
from services.kit.db import OutboxMessage, session_scope
from services.models import AuditEvent, InferenceJob, Study
from services.study import service as study_service
from tests.factories import study as study_factory
from tests.factories.tenant import Consortium
from tests.fixtures.api_client import Api
from tests.fixtures.databases import Database

pytestmark = pytest.mark.integration

URL = "/api/v1/ai/dead-letters"
ERROR = "ModelNotFound: The server does not serve model 'image_quality' version 42"


def failed_job(db: Database, consortium: Consortium) -> InferenceJob:
    """Register a study of clinic A and fail its AI job for good, as the runner would."""
    with session_scope(db.factory) as session:
        study, _ = study_factory.register_study(session, clinic=consortium.clinic_a)
    with session_scope(db.factory) as session:
        session.execute(
            update(InferenceJob)
            .where(InferenceJob.study_id == study.id)
            .values(status="FAILED", error=ERROR, attempts=3, finished_at=utc_now())
        )
        study_service.settle_ai_status(session, study_id=study.id)
    kit_db.PUBLISHER.sent.clear()
    with db.factory() as session:
        job = session.scalar(select(InferenceJob).where(InferenceJob.study_id == study.id))
        assert job is not None
        return job


def ai_status(db: Database, study_id: uuid.UUID) -> str:
    with db.factory() as session:
        study = session.get(Study, study_id)
        assert study is not None
        return study.ai_status


class TestList:
    def test_admin_sees_the_failed_job_with_its_reason(
        self, api: Api, use_database: Database, consortium: Consortium
    ) -> None:
        job = failed_job(use_database, consortium)

        response = api.get(consortium.consortium_admin, URL)

        assert response.status_code == 200, response.text
        (letter,) = [d for d in response.json() if d["job_id"] == str(job.id)]
        assert letter["study_id"] == str(job.study_id)
        assert (letter["model_name"], letter["model_version"]) == ("image_quality", "1")
        assert (letter["error"], letter["attempts"]) == (ERROR, 3)
        assert letter["failed_at"] is not None

    def test_another_consortiums_admin_sees_none_of_them(
        self, api: Api, use_database: Database, consortium: Consortium, other: Consortium
    ) -> None:
        failed_job(use_database, consortium)

        response = api.get(other.consortium_admin, URL)

        assert response.status_code == 200
        assert response.json() == []

    @pytest.mark.parametrize("role", ["radiologist", "clinic_staff"])
    def test_other_roles_are_refused(self, api: Api, consortium: Consortium, role: str) -> None:
        response = api.get(getattr(consortium, role), URL)
        assert response.status_code == 403
        assert "consortium_admin" in response.json()["message"]


class TestReplay:
    def test_replay_queues_the_job_after_commit_and_audits_it(
        self, api: Api, use_database: Database, consortium: Consortium
    ) -> None:
        job = failed_job(use_database, consortium)
        assert ai_status(use_database, job.study_id) == "AI_FAILED"

        response = api.post(consortium.consortium_admin, f"{URL}/{job.id}/replay")

        assert response.status_code == 202, response.text
        assert response.json()["status"] == "QUEUED"
        with use_database.factory() as session:
            stored = session.get(InferenceJob, job.id)
            events = list(
                session.scalars(
                    select(AuditEvent).where(
                        AuditEvent.object_id == str(job.id),
                        AuditEvent.action == "inference_job.replay",
                    )
                )
            )
        assert stored is not None and (stored.status, stored.attempts) == ("QUEUED", 0)
        assert ai_status(use_database, job.study_id) == "AI_PENDING"
        assert kit_db.PUBLISHER.sent == [
            OutboxMessage(RUN_INFERENCE, {"job_id": str(job.id)}, QUEUE_INFERENCE)
        ]
        (event,) = events
        assert event.outcome == "success" and event.study_id == job.study_id
        assert event.detail["previous"] == {"error": ERROR, "attempts": 3}
        listed = api.get(consortium.consortium_admin, URL).json()
        assert str(job.id) not in [d["job_id"] for d in listed]

    def test_a_job_that_has_not_failed_cannot_be_replayed(
        self, api: Api, use_database: Database, consortium: Consortium
    ) -> None:
        job = failed_job(use_database, consortium)
        assert api.post(consortium.consortium_admin, f"{URL}/{job.id}/replay").status_code == 202
        kit_db.PUBLISHER.sent.clear()

        response = api.post(consortium.consortium_admin, f"{URL}/{job.id}/replay")

        assert response.status_code == 409
        assert response.json()["message"] == (
            "Only failed AI jobs can be replayed; this one is QUEUED."
        )
        assert kit_db.PUBLISHER.sent == []

    def test_another_consortiums_job_is_not_found(
        self, api: Api, use_database: Database, consortium: Consortium, other: Consortium
    ) -> None:
        job = failed_job(use_database, consortium)

        response = api.post(other.consortium_admin, f"{URL}/{job.id}/replay")

        assert response.status_code == 404
        assert "No such AI job" in response.json()["message"]
        with use_database.factory() as session:
            stored = session.get(InferenceJob, job.id)
            denied = session.scalar(
                select(AuditEvent).where(
                    AuditEvent.object_id == str(job.id), AuditEvent.outcome == "denied"
                )
            )
        assert stored is not None and stored.status == "FAILED"
        assert denied is not None
        assert kit_db.PUBLISHER.sent == []

    def test_unknown_and_malformed_ids(self, api: Api, consortium: Consortium) -> None:
        admin = consortium.consortium_admin
        assert api.post(admin, f"{URL}/{uuid.uuid4()}/replay").status_code == 404
        assert api.post(admin, f"{URL}/not-a-uuid/replay").status_code == 422

    def test_a_radiologist_cannot_replay(
        self, api: Api, use_database: Database, consortium: Consortium
    ) -> None:
        job = failed_job(use_database, consortium)
        response = api.post(consortium.radiologist, f"{URL}/{job.id}/replay")
        assert response.status_code == 403
        with use_database.factory() as session:
            stored = session.get(InferenceJob, job.id)
        assert stored is not None and stored.status == "FAILED"
