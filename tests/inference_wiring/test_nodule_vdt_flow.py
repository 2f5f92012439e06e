"""Signing a CT report that measures a nodule runs its doubling time against the priors.

Real components: the API (claim, template draft, author signature), the database, Triton
serving ``nodule_vdt``, and the Celery task function run as the worker would run it. Expected
figures are Schwartz's formula worked by hand: 500 -> 1000 mm3 in 200 days doubles in 200 days.
"""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any

import pytest
from sqlalchemy import select

from inference import tasks
from inference.triton.grpc_client import GrpcInferenceClient
from services.contracts.task_names import RUN_NODULE_VDT
from services.kit import db as kit_db
from services.kit.db import session_scope
from services.models import AiFinding, InferenceJob, Study
from tests.factories import study as study_factory
from tests.factories import tenant as tenant_factory
from tests.factories.tenant import Consortium
from tests.fixtures.api_client import Api
from tests.fixtures.databases import Database
from tests.services.report_workflow.steps import library_id, report_url
from tests.services.test_api_flow import _claim

pytestmark = pytest.mark.integration

PATIENT = "VDT-PATIENT-1"


@pytest.fixture
def worker_triton(
    triton_client: GrpcInferenceClient, monkeypatch: pytest.MonkeyPatch
) -> GrpcInferenceClient:
    """The worker's Triton client, pointed at the test's Triton server."""
    monkeypatch.setattr(tasks, "_triton", lambda: triton_client)
    return triton_client


def _ct(db: Database, consortium: Consortium, study_date: str) -> Study:
    facts = dataclasses.replace(
        study_factory.study_facts(modality="CT"), patient_id=PATIENT, study_date=study_date
    )
    with session_scope(db.factory) as session:
        study, _ = study_factory.register_study(session, clinic=consortium.clinic_a, facts=facts)
        return study


def _sign(api: Api, consortium: Consortium, study: Study, values: dict[str, Any]) -> str:
    """Claim, write from the CT chest template with ``values``, sign; return the report id."""
    assert _claim(api, consortium.radiologist, study).status_code == 200
    template_id = library_id(api, consortium.radiologist, "ct-chest", "en")
    started = api.post(
        consortium.radiologist,
        report_url(study, "/draft/from-template"),
        {"template_id": template_id},
    )
    assert started.status_code == 200, started.text
    body = {"values": {**started.json()["structured"]["values"], "diagnosis": "Nodule", **values}}
    saved = api.put(consortium.radiologist, report_url(study, "/draft"), body)
    assert saved.status_code == 200, saved.text
    signed = api.post(consortium.radiologist, report_url(study, "/sign"))
    assert signed.status_code == 200, signed.text
    return str(signed.json()["id"])


def _nodule(label: str, volume: float, long_axis: float = 10.0) -> dict[str, Any]:
    return {"nodule_label": label, "nodule_diameter": long_axis, "nodule_volume": volume}


def _queued(report_id: str) -> bool:
    return any(
        m.task_name == RUN_NODULE_VDT and m.kwargs == {"report_id": report_id}
        for m in kit_db.PUBLISHER.sent
    )


def _double_signature(api: Api, consortium: Consortium) -> None:
    response = api.put(
        consortium.consortium_admin, "/api/v1/report-policy", {"double_signature": True}
    )
    assert response.status_code == 200, response.text


def _jobs(db: Database, study: Study) -> list[InferenceJob]:
    with session_scope(db.factory) as session:
        return list(
            session.scalars(
                select(InferenceJob).where(
                    InferenceJob.study_id == study.id, InferenceJob.model_name == "nodule_vdt"
                )
            )
        )


def _findings(db: Database, study: Study) -> list[AiFinding]:
    with session_scope(db.factory) as session:
        return list(
            session.scalars(
                select(AiFinding).where(
                    AiFinding.study_id == study.id, AiFinding.model_name == "nodule_vdt"
                )
            )
        )


@pytest.fixture
def consortium(use_database: Database) -> Consortium:
    return tenant_factory.build_consortium(use_database.factory)


class TestDoublingTimeOnSigning:
    def test_prior_200_days_earlier_gives_a_malignant_range_finding_with_its_inputs(
        self, api: Api, consortium: Consortium, use_database: Database, worker_triton: object
    ) -> None:
        _double_signature(api, consortium)
        prior = _ct(use_database, consortium, "20250110")
        prior_report = _sign(api, consortium, prior, _nodule("RUL-1", 500.0))
        current = _ct(use_database, consortium, "20250729")  # 200 days later
        current_report = _sign(api, consortium, current, _nodule("rul-1", 1000.0, 12.5))

        assert _queued(current_report)
        assert tasks.run_nodule_vdt(report_id=current_report) == "succeeded"

        (job,) = _jobs(use_database, current)
        assert (job.status, job.model_version) == ("SUCCEEDED", "1")
        (finding,) = _findings(use_database, current)
        assert finding.code == "lung-nodule-vdt-malignant-range"
        assert finding.severity == "significant"
        assert "200 days" in finding.label_en and "malignant range" in finding.label_en
        detail = finding.detail
        assert detail["vdt_days"] == pytest.approx(200.0, abs=0.1)
        assert detail["model"] == {"name": "nodule_vdt", "version": "1"}
        assert [i["study_date"] for i in detail["inputs"]] == ["2025-01-10", "2025-07-29"]
        assert [i["volume_used_mm3"] for i in detail["inputs"]] == [500.0, 1000.0]
        assert [i["study_instance_uid"] for i in detail["inputs"]] == [
            prior.study_instance_uid,
            current.study_instance_uid,
        ]
        assert [r["report_id"] for r in detail["input_reports"]] == [prior_report, current_report]
        assert detail["report"] == {"id": current_report, "version": 1}
        # The countersigning senior sees it in the study's AI findings.
        listed = api.get(consortium.senior_radiologist, f"/api/v1/studies/{current.id}")
        assert listed.status_code == 200, listed.text
        assert "lung-nodule-vdt-malignant-range" in listed.text

    def test_without_a_measured_prior_no_job_is_made(
        self, api: Api, consortium: Consortium, use_database: Database, worker_triton: object
    ) -> None:
        other_nodule = _ct(use_database, consortium, "20250110")
        _sign(api, consortium, other_nodule, _nodule("LLL-2", 500.0))
        current = _ct(use_database, consortium, "20250729")
        report_id = _sign(api, consortium, current, _nodule("RUL-1", 1000.0))

        assert tasks.run_nodule_vdt(report_id=report_id) == "no_job"
        assert _jobs(use_database, current) == []

    def test_a_prior_in_another_consortium_with_the_same_patient_id_is_never_used(
        self, api: Api, consortium: Consortium, use_database: Database, worker_triton: object
    ) -> None:
        elsewhere = tenant_factory.build_consortium(use_database.factory)
        foreign = _ct(use_database, elsewhere, "20250110")
        _sign(api, elsewhere, foreign, _nodule("RUL-1", 500.0))
        current = _ct(use_database, consortium, "20250729")
        report_id = _sign(api, consortium, current, _nodule("RUL-1", 1000.0))

        assert tasks.run_nodule_vdt(report_id=report_id) == "no_job"
        assert _jobs(use_database, current) == []

    def test_a_retried_or_redelivered_task_adds_nothing(
        self, api: Api, consortium: Consortium, use_database: Database, worker_triton: object
    ) -> None:
        prior = _ct(use_database, consortium, "20250110")
        _sign(api, consortium, prior, _nodule("RUL-1", 500.0))
        current = _ct(use_database, consortium, "20250729")
        report_id = _sign(api, consortium, current, _nodule("RUL-1", 1000.0))

        assert tasks.run_nodule_vdt(report_id=report_id) == "succeeded"
        assert tasks.run_nodule_vdt(report_id=report_id) == "no_job"

        (job,) = _jobs(use_database, current)
        assert job.attempts == 1
        assert len(_findings(use_database, current)) == 1

    def test_a_report_without_a_nodule_label_queues_nothing(
        self, api: Api, consortium: Consortium, use_database: Database
    ) -> None:
        study = _ct(use_database, consortium, "20250729")
        report_id = _sign(api, consortium, study, {"nodule_diameter": 8.0})

        assert not _queued(report_id)
        assert uuid.UUID(report_id)


class TestCorrection:
    def test_a_signed_correction_reruns_the_job_and_replaces_its_finding(
        self, api: Api, consortium: Consortium, use_database: Database, worker_triton: object
    ) -> None:
        prior = _ct(use_database, consortium, "20250110")
        _sign(api, consortium, prior, _nodule("RUL-1", 500.0))
        current = _ct(use_database, consortium, "20250729")
        first = _sign(api, consortium, current, _nodule("RUL-1", 1000.0))
        assert tasks.run_nodule_vdt(report_id=first) == "succeeded"

        opened = api.post(
            consortium.radiologist,
            report_url(current, "/amendments"),
            {"kind": "correction", "reason": "volume re-measured"},
        )
        assert opened.status_code == 201, opened.text
        values = {**opened.json()["structured"]["values"], "nodule_volume": 600.0}
        saved = api.put(consortium.radiologist, report_url(current, "/draft"), {"values": values})
        assert saved.status_code == 200, saved.text
        corrected = api.post(consortium.radiologist, report_url(current, "/sign"))
        assert corrected.status_code == 200, corrected.text
        second = str(corrected.json()["id"])

        assert tasks.run_nodule_vdt(report_id=second) == "succeeded"

        (job,) = _jobs(use_database, current)
        (finding,) = _findings(use_database, current)
        assert finding.code == "lung-nodule-vdt-not-malignant-range"  # 500 -> 600 mm3: slow
        assert finding.detail["report"] == {"id": second, "version": 2}
        assert [i["volume_used_mm3"] for i in finding.detail["inputs"]] == [500.0, 600.0]
        assert job.status == "SUCCEEDED"
