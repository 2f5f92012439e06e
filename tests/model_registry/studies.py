"""Studies for the registry tests, registered through the study service like the gateway does."""

from __future__ import annotations

import uuid

from services.contracts.ingest import SeriesFacts, StudyFacts
from services.inference_job import service as job_service
from services.kit.settings import get_settings
from services.models import InferenceJob, Organization, Study
from services.study import service as study_service
from services.study.routing import configured_routes
from tests.fixtures.databases import Database


def uid() -> str:
    return f"2.25.{uuid.uuid4().int}"


def chest_study(*views: str) -> StudyFacts:
    series = tuple(
        SeriesFacts(
            uid(), f"orthanc-{uuid.uuid4().hex}", "DX", "CHEST", view, 1, view_position=view
        )
        for view in views
    )
    return StudyFacts(
        uid(), None, "P1", "Test^Patient", "F", "19700101", "A1", "20261125", "", series
    )


def ct_study() -> tuple[StudyFacts, dict[str, str]]:
    plan = {"thick": (80, 5.0, "axial"), "thin": (300, 1.0, "axial"), "cor": (300, 0.5, "coronal")}
    uids = {name: uid() for name in plan}
    series = tuple(
        SeriesFacts(
            uids[name],
            f"orthanc-{uuid.uuid4().hex}",
            "CT",
            "CHEST",
            name,
            count,
            orientation=orientation,
            slice_thickness=thickness,
        )
        for name, (count, thickness, orientation) in plan.items()
    )
    facts = StudyFacts(uid(), None, "P2", "Test^CT", "M", "19600101", "A2", "20261125", "", series)
    return facts, uids


def register(
    db: Database, consortium: object, facts: StudyFacts
) -> tuple[Study, list[InferenceJob]]:
    """Register ``facts`` for the consortium's clinic A; return the study and its jobs."""
    clinic: Organization = consortium.clinic_a  # type: ignore[attr-defined]
    with db.factory.begin() as session:
        study, created = study_service.register(
            session,
            clinic=clinic,
            facts=facts,
            source="dicom",
            routes=configured_routes(get_settings()),
        )
        assert created
        jobs = job_service.jobs_of_study(session, study.id)
        return study, jobs
