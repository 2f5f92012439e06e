"""The nodule doubling-time run of a signed CT report, recorded as an AI job like any other.

A signed report that measures a nodule queues ``inference.run_nodule_vdt``. ``ensure_job``
gathers the patient's measured priors; with none there is nothing to compare and no job.
Otherwise it makes the study's ``nodule_vdt`` job (one per study + model version, as for every
model) ready to run, and the runner runs it: lease, Triton through the circuit breaker,
findings, SR follow-up, dead letters and the sweeper all work as for pixel models.

Idempotence: a job that finished after the report version was signed has already seen it, so
a retried or redelivered task does nothing. A later signed version (a correction with new
measurements) re-runs the job and replaces its findings.
"""

from __future__ import annotations

import logging
import uuid

from sqlalchemy import delete
from sqlalchemy.orm import Session

from inference.pipelines import nodule_vdt
from inference.pipelines.findings import FindingDraft
from inference.pipelines.nodule_vdt import MeasurementError, NoduleMeasurement
from inference.triton.port import InferenceClient
from services.inference_job import service as job_service
from services.kit.db import session_scope
from services.models import AiFinding, InferenceJob, Report, Study
from services.report.nodule_history import NoduleHistory, NoduleReading, history_of
from services.study import repository as study_repository
from services.study import service as study_service

log = logging.getLogger("radbridge.inference")
MODEL_NAME = nodule_vdt.MODEL_NAME


def _reference_series(session: Session, study_id: uuid.UUID) -> str | None:
    """Return the study's largest CT series in Orthanc: the SR of the run refers to it."""
    series = [
        s
        for s in study_repository.series_of(session, study_id)
        if s.orthanc_id and s.modality.upper() == "CT"
    ]
    return max(series, key=lambda s: s.instance_count).series_instance_uid if series else None


def _reset(session: Session, job: InferenceJob) -> None:
    """Make a finished job run again for a newer report version; its old findings go."""
    session.execute(delete(AiFinding).where(AiFinding.job_id == job.id))
    job_service.requeue_failed(session, job=job)  # QUEUED, fresh attempts, queued after commit
    job.error = None
    job.result_sr_uid = None


def ensure_job(report_id: uuid.UUID) -> uuid.UUID | None:
    """Return the job to run for a signed report, or None (no nodule, no prior, already run)."""
    with session_scope() as session:
        report = session.get(Report, report_id)
        study = session.get(Study, report.study_id) if report is not None else None
        if report is None or study is None or report.signed_at is None:
            return None
        history = history_of(session, study)
        if history is None or not history.priors:
            log.info("report %s: no measured prior of its nodule; no doubling time", report_id)
            return None
        job = next(
            (
                j
                for j in job_service.jobs_of_study(session, study.id)
                if (j.model_name, j.model_version) == (MODEL_NAME, nodule_vdt.MODEL_VERSION)
            ),
            None,
        )
        if job is None:
            job = InferenceJob(
                tenant_id=study.tenant_id,
                study_id=study.id,
                model_name=MODEL_NAME,
                model_version=nodule_vdt.MODEL_VERSION,
                status="QUEUED",
                input_series_uid=_reference_series(session, study.id),
                input_modality="CT",
            )
            session.add(job)  # the task runs it now; the sweeper re-queues it if lost
        elif job.status in {"SUCCEEDED", "FAILED"}:
            if job.finished_at is not None and job.finished_at >= report.signed_at:
                return None  # this report version was already seen: a retry or redelivery
            _reset(session, job)
        session.flush()
        study_service.settle_ai_status(session, study_id=study.id)  # AI_PENDING while it runs
        return job.id


def _measurement(reading: NoduleReading) -> NoduleMeasurement:
    return NoduleMeasurement(
        study_instance_uid=reading.study_instance_uid,
        study_date=reading.study_date,
        diameters_mm=reading.diameters_mm,
        volume_mm3=reading.volume_mm3,
    )


def _provenance(history: NoduleHistory) -> dict[str, object]:
    readings = (*history.priors, history.current)
    return {
        "report": {
            "id": str(history.current.report_id),
            "version": history.current.report_version,
        },
        "input_reports": [
            {
                "study_id": str(r.study_id),
                "study_instance_uid": r.study_instance_uid,
                "study_date": r.study_date.isoformat(),
                "report_id": str(r.report_id),
                "report_version": r.report_version,
                "label": r.label,
                "long_axis_mm": r.long_axis_mm,
                "short_axis_mm": r.short_axis_mm,
                "volume_mm3": r.volume_mm3,
            }
            for r in readings
        ],
    }


def drafts_for_study(client: InferenceClient, study_id: uuid.UUID) -> list[FindingDraft]:
    """Compute the doubling time of the nodule the study's signed report measures.

    Raises MeasurementError when there is nothing to compare (the job then fails, with why).
    """
    with session_scope() as session:
        study = session.get(Study, study_id)
        history = history_of(session, study) if study is not None else None
    if history is None or not history.priors:
        raise MeasurementError(
            "no signed CT report of this patient measures the nodule on an earlier study"
        )
    measurements = [_measurement(r) for r in (*history.priors, history.current)]
    result = nodule_vdt.run(client, measurements)
    draft = nodule_vdt.postprocess(measurements, result, nodule=history.current.label)
    draft.detail.update(_provenance(history))
    return [draft]
