"""Inference tasks: thin shells that parse ids and call the runner with per-process clients."""

from __future__ import annotations

import uuid
from functools import lru_cache

from inference.circuit import CircuitBreaker
from inference.dicom.source import OrthancInstanceSource, SourceUnavailable
from inference.dicom.writer import OrthancResultWriter
from inference.nodule_vdt_job import ensure_job as ensure_nodule_vdt_job
from inference.result_sr_job import requeue_missing
from inference.result_sr_job import write_result_sr as write_sr
from inference.runner import run_job as run
from inference.triton.grpc_client import GrpcInferenceClient
from inference.triton.port import TritonUnavailable
from services.contracts.task_names import (
    QUEUE_INFERENCE,
    RUN_INFERENCE,
    RUN_NODULE_VDT,
    SWEEP_STALE_JOBS,
    WRITE_RESULT_SR,
)
from services.inference_job import service as job_service
from services.kit.celery import task
from services.kit.db import session_scope
from services.kit.settings import get_settings
from services.study import service as study_service


@lru_cache
def _triton() -> GrpcInferenceClient:
    settings = get_settings()
    return GrpcInferenceClient(settings.triton.grpc_url, timeout_s=settings.triton.timeout_s)


@lru_cache
def _orthanc() -> OrthancInstanceSource:
    o = get_settings().orthanc
    return OrthancInstanceSource(o.url, o.username, o.password.get_secret_value())


@lru_cache
def _results() -> OrthancResultWriter:
    o = get_settings().orthanc
    return OrthancResultWriter(o.url, o.username, o.password.get_secret_value())


_BREAKER = CircuitBreaker()  # one per worker process, shared by its threads


@task(RUN_INFERENCE, queue=QUEUE_INFERENCE, retry_on=(TritonUnavailable, SourceUnavailable))
def run_job(*, job_id: str) -> str:
    """Run one AI job (idempotent: a job that is not ours to run is skipped)."""
    return run(
        uuid.UUID(job_id),
        settings=get_settings(),
        client=_triton(),
        source=_orthanc(),
        breaker=_BREAKER,
    )


@task(RUN_NODULE_VDT, queue=QUEUE_INFERENCE, retry_on=(TritonUnavailable, SourceUnavailable))
def run_nodule_vdt(*, report_id: str) -> str:
    """Run the doubling time of a signed report's nodule against its priors (idempotent)."""
    job_id = ensure_nodule_vdt_job(uuid.UUID(report_id))
    if job_id is None:
        return "no_job"
    return run(
        job_id, settings=get_settings(), client=_triton(), source=_orthanc(), breaker=_BREAKER
    )


@task(WRITE_RESULT_SR, queue=QUEUE_INFERENCE, retry_on=(SourceUnavailable,))
def write_result_sr(*, job_id: str) -> str:
    """Write a succeeded job's SR into its study (idempotent on the job id)."""
    return write_sr(uuid.UUID(job_id), source=_orthanc(), writer=_results())


@task(SWEEP_STALE_JOBS, queue=QUEUE_INFERENCE)
def sweep_stale_jobs() -> dict[str, int]:
    """Re-queue jobs stuck past their lease (crashed worker, lost message), settle the rest."""
    settings = get_settings()
    with session_scope() as session:
        requeued, failed = job_service.sweep_stale(
            session, lease_s=settings.job_lease_s, max_attempts=settings.job_max_attempts
        )
        settled = study_service.settle_stuck_ai(session)
        srs = requeue_missing(session)  # SR follow-ups whose message was lost
    return {"requeued": requeued, "failed": failed, "settled": settled, "sr_requeued": srs}
