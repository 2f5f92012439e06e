"""Write a finished job's DICOM SR (and GSPS) into its study: the follow-up of ``runner.run_job``.

The runner commits the findings (and the study's priority) first and queues this in the same
commit, so readers see a finding without waiting for highdicom and Orthanc. The SR names the
model version as the registry knows it (vendor, regulatory status, the "for reference" notice);
a version routed from settings and never registered falls back to its shipped manifest.

Idempotent on the job id: the SR's UIDs derive from it, a job that already has its SR (or is a
shadow run, never shown to readers) is skipped, and Orthanc answers ``AlreadyStored`` to a
repeat. Orthanc unreachable -> ``SourceUnavailable`` for the task to retry; an SR that cannot be
built or that Orthanc refuses is recorded in the job's ``error`` (the findings stand without
it). ``requeue_missing`` (run by the stale-job sweep) queues the follow-up again for a job
whose message was lost, so the SR is written eventually.

A run with localized results (the image-quality model's collimated field) also gets a GSPS
outlining them on the analysed image (``results_gsps``), stored before the SR's UID is recorded
so a retry after an outage writes both; its UIDs derive from the job id as well. A GSPS that
cannot be built or that Orthanc refuses is logged and left out: the SR is the run's record.
"""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta

from pydicom.dataset import Dataset
from sqlalchemy import select
from sqlalchemy.orm import Session

from inference.dicom import results_gsps, results_sr
from inference.dicom.source import InstanceSource, SourceDataError
from inference.dicom.writer import ResultStoreRejected, ResultWriter
from inference.pipelines.findings import FindingDraft
from services.contracts.task_names import QUEUE_INFERENCE, WRITE_RESULT_SR
from services.kit.clock import utc_now
from services.kit.db import enqueue, session_scope
from services.model_registry import service as registry
from services.model_registry.exceptions import ModelVersionNotFound
from services.models import AiFinding, InferenceJob
from services.study import repository as study_repository

log = logging.getLogger("radbridge.inference")


def identity(session: Session, name: str, version: str) -> results_sr.ModelIdentity:
    """Return the identity of a job's version: the registry's manifest, else the shipped one."""
    try:
        row = registry.get(session, name=name, version=version)
    except ModelVersionNotFound:
        return results_sr.model_identity(name, version)
    return results_sr.ModelIdentity.of(registry.manifest_of(row))


def _drafts(findings: list[AiFinding]) -> list[FindingDraft]:
    return [
        FindingDraft(f.code, f.label_en, f.label_zh, f.score, f.severity, dict(f.detail or {}))  # type: ignore[arg-type]
        for f in sorted(findings, key=lambda f: f.code)
    ]


def _plan(job_id: uuid.UUID) -> tuple[results_sr.AiRun, str] | None:
    """Return what the SR needs (the run, the input series' Orthanc id), or None to skip."""
    with session_scope() as session:
        job = session.get(InferenceJob, job_id)
        if job is None or job.status != "SUCCEEDED" or job.shadow or job.result_sr_uid or job.error:
            return None
        series = [
            s
            for s in study_repository.series_of(session, job.study_id)
            if s.series_instance_uid == job.input_series_uid and s.orthanc_id
        ]
        if not series:
            job.error = f"result SR not written: input series {job.input_series_uid} is gone"
            log.warning("job %s: %s", job_id, job.error)
            return None
        drafts = _drafts(list(session.scalars(select(AiFinding).where(AiFinding.job_id == job_id))))
        run = results_sr.AiRun(
            job_id=job.id,
            model=identity(session, job.model_name, job.model_version),
            findings=drafts,
            measures=results_sr.measures_of(drafts),
        )
        orthanc_id = series[0].orthanc_id
        assert orthanc_id is not None
        return run, orthanc_id


def write_result_sr(job_id: uuid.UUID, *, source: InstanceSource, writer: ResultWriter) -> str:
    """Build and store the SR of a succeeded job; return "written", "skipped" or "failed"."""
    planned = _plan(job_id)
    if planned is None:
        return "skipped"
    run, series_orthanc_id = planned
    try:
        dataset = source.representative_instance(series_orthanc_id)
        report = results_sr.build_report(dataset, run)
        presentation = _presentation_state(job_id, dataset, run)
        stored = writer.store(report)
        if presentation is not None:
            _store_presentation_state(job_id, writer, presentation)
    except (SourceDataError, ResultStoreRejected, results_sr.ResultObjectError) as exc:
        reason = f"result SR not written: {type(exc).__name__}: {exc}"
        log.warning("job %s: %s", job_id, reason)
        with session_scope() as session:
            job = session.get(InferenceJob, job_id, with_for_update=True)
            if job is not None and job.status == "SUCCEEDED":
                job.error = reason[:2000]  # seen by admins; the sweep does not retry it
        return "failed"
    with session_scope() as session:
        job = session.get(InferenceJob, job_id, with_for_update=True)
        if job is not None:
            job.result_sr_uid = stored.sop_instance_uid
    log.info("job %s: SR %s %s", job_id, stored.sop_instance_uid, stored.status)
    return "written"


def _presentation_state(
    job_id: uuid.UUID, dataset: Dataset, run: results_sr.AiRun
) -> Dataset | None:
    """Return the GSPS drawing the run's localized results on ``dataset``, None if none.

    A GSPS that cannot be built is logged and left out: the SR and the findings stand.
    """
    outlines = results_gsps.outlines_of(run.findings, dataset)
    if not outlines:
        return None
    try:
        return results_gsps.build_presentation_state(dataset, run, outlines)
    except results_sr.ResultObjectError as exc:
        log.warning("job %s: GSPS not written: %s", job_id, exc)
        return None


def _store_presentation_state(
    job_id: uuid.UUID, writer: ResultWriter, presentation: Dataset
) -> None:
    """Store the GSPS; one Orthanc refuses is logged (the SR is the record of the run)."""
    try:
        stored = writer.store(presentation)
    except ResultStoreRejected as exc:
        log.warning("job %s: GSPS not written: %s", job_id, exc)
        return
    log.info("job %s: GSPS %s %s", job_id, stored.sop_instance_uid, stored.status)


def requeue_missing(session: Session, *, grace_s: int = 120, window_h: int = 24) -> int:
    """Queue the SR follow-up again for jobs that succeeded a while ago and still have none."""
    now = utc_now()
    stmt = select(InferenceJob.id).where(
        InferenceJob.status == "SUCCEEDED",
        InferenceJob.shadow.is_(False),
        InferenceJob.result_sr_uid.is_(None),
        InferenceJob.error.is_(None),
        InferenceJob.finished_at < now - timedelta(seconds=grace_s),
        InferenceJob.finished_at >= now - timedelta(hours=window_h),
    )
    ids = list(session.scalars(stmt.limit(200)))
    for job_id in ids:
        enqueue(session, WRITE_RESULT_SR, queue=QUEUE_INFERENCE, job_id=str(job_id))
    return len(ids)
