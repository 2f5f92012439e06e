"""``radbridge models subscribe|enable --backfill DAYS`` routes recent waiting studies again."""

from __future__ import annotations

import uuid
from datetime import timedelta

from pydicom.uid import generate_uid
from sqlalchemy import update
from typer.testing import CliRunner

from inference.registry.cli import app
from inference.result_sr_job import requeue_missing
from services.contracts.ingest import SeriesFacts, StudyFacts
from services.contracts.task_names import RUN_INFERENCE, WRITE_RESULT_SR
from services.inference_job import service as job_service
from services.kit import db as kit_db
from services.kit.clock import utc_now
from services.model_registry import service as registry
from services.models import Study
from services.study import service as study_service
from tests.fixtures.consortium import Consortium
from tests.fixtures.databases import Database
from tests.model_registry.conftest import register_checked
from tests.model_registry.manifests import chest_manifest


def frontal_chest(db: Database, consortium: Consortium, *, age_days: int = 0) -> uuid.UUID:
    """Register a PA chest radiograph the way ingest does; return the study id."""
    series = SeriesFacts(
        series_instance_uid=generate_uid(),
        orthanc_id=None,
        modality="DX",
        body_part="CHEST",
        instance_count=1,
        view_position="PA",
    )
    facts = StudyFacts(
        study_instance_uid=generate_uid(),
        orthanc_id=None,
        patient_id="P1",
        patient_name="Test^Patient",
        patient_sex="F",
        patient_birth_date="19700101",
        accession_number="A1",
        study_date="20261124",
        description="Chest",
        series=(series,),
    )
    with db.factory.begin() as session:
        study, _created = study_service.register(
            session, clinic=consortium.clinic_a, facts=facts, source="dicom"
        )
        if age_days:
            session.execute(
                update(Study)
                .where(Study.id == study.id)
                .values(received_at=utc_now() - timedelta(days=age_days))
            )
        return study.id


def state(db: Database, study_id: uuid.UUID) -> tuple[str, list[str]]:
    with db.factory() as session:
        study = session.get(Study, study_id)
        assert study is not None
        jobs = job_service.jobs_of_study(session, study_id)
        return study.ai_status, [f"{j.model_name} v{j.model_version}" for j in jobs]


def queued_runs() -> int:
    return sum(1 for m in kit_db.PUBLISHER.sent if m.task_name == RUN_INFERENCE)


def test_subscribing_with_backfill_routes_recent_skipped_studies_once(
    clean_registry: Database, consortium: Consortium
) -> None:
    with clean_registry.factory.begin() as session:
        register_checked(session, chest_manifest())
    recent = frontal_chest(clean_registry, consortium)
    old = frontal_chest(clean_registry, consortium, age_days=30)
    assert state(clean_registry, recent) == ("AI_SKIPPED", [])
    slug = consortium.tenant.slug
    runner = CliRunner()

    result = runner.invoke(app, ["subscribe", slug, "chest_triage", "--backfill", "7"])

    assert result.exit_code == 0, result.output
    assert "1 routed again, 1 jobs queued" in result.output
    assert state(clean_registry, recent) == ("AI_PENDING", ["chest_triage v2"])
    assert state(clean_registry, old) == ("AI_SKIPPED", [])  # older than the window
    assert queued_runs() == 1
    again = runner.invoke(app, ["subscribe", slug, "chest_triage", "--backfill", "7"])
    assert again.exit_code == 0, again.output
    assert "0 routed again, 0 jobs queued" in again.output
    assert queued_runs() == 1


def test_enabling_with_backfill_routes_studies_that_waited_for_it(
    clean_registry: Database, consortium: Consortium
) -> None:
    with clean_registry.factory.begin() as session:
        register_checked(session, chest_manifest(), state="disabled")
    with clean_registry.factory.begin() as session:
        registry.subscribe(session, tenant_id=consortium.tenant.id, model_name="chest_triage")
    study = frontal_chest(clean_registry, consortium)
    assert state(clean_registry, study) == ("AI_SKIPPED", [])

    result = CliRunner().invoke(app, ["enable", "chest_triage", "2", "--backfill", "3"])

    assert result.exit_code == 0, result.output
    assert state(clean_registry, study) == ("AI_PENDING", ["chest_triage v2"])


def test_backfill_needs_at_least_one_day(clean_registry: Database) -> None:
    result = CliRunner().invoke(app, ["enable", "chest_triage", "2", "--backfill", "0"])
    assert result.exit_code == 2
    assert "--backfill" in result.output


def test_sweep_requeues_lost_sr_follow_ups_but_not_shadow_or_failed_ones(
    clean_registry: Database, consortium: Consortium
) -> None:
    with clean_registry.factory.begin() as session:
        register_checked(session, chest_manifest())
        registry.subscribe(session, tenant_id=consortium.tenant.id, model_name="chest_triage")
    studies = [frontal_chest(clean_registry, consortium) for _ in range(3)]
    with clean_registry.factory.begin() as session:
        jobs = [job_service.jobs_of_study(session, s)[0] for s in studies]
        marks = [(False, None), (True, None), (False, "x")]
        for job, (shadow, error) in zip(jobs, marks, strict=True):
            job.status, job.shadow, job.error = "SUCCEEDED", shadow, error
            job.finished_at = utc_now() - timedelta(minutes=10)
    kit_db.PUBLISHER.sent.clear()

    with clean_registry.factory.begin() as session:
        assert requeue_missing(session) == 1

    (message,) = kit_db.PUBLISHER.sent
    assert (message.task_name, message.kwargs) == (WRITE_RESULT_SR, {"job_id": str(jobs[0].id)})
