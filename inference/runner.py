"""Run one AI job: lease it, fetch its input, call Triton, record findings, queue the SR.

The steps follow grand-challenge's pattern: a short transaction to take the lease, the
computation with no transaction open, and a short transaction to record the result. A job whose
lease is no longer ours when the result comes back is left alone (someone else re-ran it).

Faults: Triton or Orthanc unavailable -> the job goes back to the queue and the task retries
(the study stays AI_PENDING); a circuit breaker stops calling a Triton that keeps failing and
hands jobs back at once without spending their attempts. Bad pixels, a model that breaks its
contract (unknown version, wrong shapes) or a result Orthanc refuses -> the job FAILS with the
reason and lands in the dead-letter list; nothing retries it unless an admin replays it.

The DICOM SR is not built here: the findings and the study's priority are committed first
and the same commit queues ``inference.write_result_sr`` (``inference.result_sr_job``), so a
reader sees the finding without waiting ~150 ms for highdicom and Orthanc.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np
from pydicom.dataset import Dataset
from sqlalchemy.orm import Session

from inference.circuit import BreakerState, CircuitBreaker, CircuitOpen
from inference.dicom.pixels import PixelDataError
from inference.dicom.source import InstanceSource, SourceDataError, SourceUnavailable
from inference.input_stats import tensor_stats
from inference.nodule_vdt_job import drafts_for_study as nodule_vdt_drafts
from inference.pipelines import chest_xray, image_quality, nodule_vdt
from inference.pipelines.findings import FindingDraft
from inference.pipelines.nodule_vdt import MeasurementError
from inference.triton.port import InferenceClient, InferenceError, TritonUnavailable
from services.contracts.task_names import QUEUE_INFERENCE, WRITE_RESULT_SR
from services.critical import service as critical_service
from services.finding import service as finding_service
from services.finding.service import FindingInput
from services.inference_job import service as job_service
from services.kit.db import enqueue, session_scope
from services.kit.settings import CoreSettings
from services.models import InferenceJob, Series
from services.study import repository as study_repository
from services.study import service as study_service
from services.study.routing import configured_routes

log = logging.getLogger("radbridge.inference")
Pipeline = Callable[[InferenceClient, list[Dataset]], list[FindingDraft]]
# Models whose input is measurements from signed reports, not pixels: given the study.
MeasuredPipeline = Callable[[InferenceClient, uuid.UUID], list[FindingDraft]]
PERMANENT = (
    PixelDataError,
    InferenceError,
    SourceDataError,
    MeasurementError,
)


def _image_quality(client: InferenceClient, datasets: list[Dataset]) -> list[FindingDraft]:
    return image_quality.postprocess(image_quality.run(client, datasets))


def _chest_xray(client: InferenceClient, datasets: list[Dataset]) -> list[FindingDraft]:
    return chest_xray.postprocess(chest_xray.run(client, datasets))


PIPELINES: dict[str, Pipeline] = {
    image_quality.MODEL_NAME: _image_quality,
    chest_xray.MODEL_NAME: _chest_xray,
}
MEASURED_PIPELINES: dict[str, MeasuredPipeline] = {nodule_vdt.MODEL_NAME: nodule_vdt_drafts}


class JobVersionClient:
    """The model server as one job sees it: its model always runs at the job's version.

    A job records the model version its findings claim; pinning every request of the job's
    model to that version keeps the claim true (an unknown version fails loudly at Triton).
    """

    def __init__(self, inner: InferenceClient, model: str, version: str) -> None:
        self._inner, self._model, self._version = inner, model, version
        self.input_stats: dict[str, float] | None = None  # of the job model's first input

    def is_ready(self, model: str, version: str) -> bool:
        """Ask whether the model is ready, at the job's version for the job's model."""
        return self._inner.is_ready(model, self._version if model == self._model else version)

    def infer(
        self, model: str, version: str, inputs: dict[str, np.ndarray], outputs: list[str]
    ) -> dict[str, np.ndarray]:
        """Run inference, at the job's version for the job's model."""
        pinned = self._version if model == self._model else version
        if model == self._model and self.input_stats is None and inputs:
            self.input_stats = tensor_stats(next(iter(inputs.values())))
        return self._inner.infer(model, pinned, inputs, outputs)


@dataclass(frozen=True)
class JobInput:
    """The series a job runs on."""

    series_instance_uid: str
    series_orthanc_id: str


def _pick_series(
    series: list[Series], modalities: frozenset[str], chosen_uid: str | None = None
) -> JobInput | None:
    """Return the series routing chose for the job, else the largest of a fitting modality."""
    if chosen_uid is not None:
        usable = [s for s in series if s.orthanc_id and s.series_instance_uid == chosen_uid]
    else:
        usable = [s for s in series if s.orthanc_id and s.modality.upper() in modalities]
    if not usable:
        return None
    best = max(usable, key=lambda s: s.instance_count)
    assert best.orthanc_id is not None
    return JobInput(best.series_instance_uid, best.orthanc_id)


def _lease(
    settings: CoreSettings, job_id: uuid.UUID
) -> tuple[job_service.ClaimedJob, JobInput | None] | None:
    with session_scope() as session:
        claimed = job_service.claim(session, job_id=job_id, lease_s=settings.job_lease_s)
        if claimed is None:
            return None
        routes = {(r.name, r.version): r for r in configured_routes(settings)}
        route = routes.get((claimed.model_name, claimed.model_version))
        modalities = route.modalities if route else frozenset()
        series = study_repository.series_of(session, claimed.study_id)
        return claimed, _pick_series(series, modalities, claimed.input_series_uid)


def _finish(job_id: uuid.UUID, update: Callable[[Session, InferenceJob], None]) -> None:
    with session_scope() as session:
        job = session.get(InferenceJob, job_id, with_for_update=True)
        if job is None or job.status != "RUNNING":
            log.info(
                "job %s no longer ours (status %s); result dropped", job_id, job and job.status
            )
            return
        update(session, job)
        session.flush()
        study_service.settle_ai_status(session, study_id=job.study_id)


def _infer(breaker: CircuitBreaker, call: Callable[[], list[FindingDraft]]) -> list[FindingDraft]:
    """Call the model through the breaker: only TritonUnavailable counts as a failure."""
    breaker.check()
    try:
        drafts = call()
    except TritonUnavailable:
        breaker.record_failure()
        raise
    except InferenceError:
        breaker.record_success()  # the server answered; the request was wrong
        raise
    except BaseException:
        breaker.release_probe()
        raise
    breaker.record_success()
    return drafts


def _unrunnable(model_name: str, job_input: JobInput | None) -> str | None:
    """Return why a job cannot run (no pipeline, no input series), None if it can."""
    if model_name in MEASURED_PIPELINES:
        return None  # its input is read from signed reports
    if model_name not in PIPELINES:
        return f"no pipeline for model {model_name}"
    if job_input is None:
        return "no_input_series: no series of a modality this model accepts"
    return None


def _compute(
    claimed: job_service.ClaimedJob,
    job_input: JobInput | None,
    source: InstanceSource,
    breaker: CircuitBreaker,
    client: InferenceClient,
) -> tuple[list[FindingDraft], int]:
    """Fetch the job's input and run its model; return the findings and the model's time (ms).

    A pixel model reads its series from Orthanc; a measured model reads signed reports.
    """
    measured = MEASURED_PIPELINES.get(claimed.model_name)
    if measured is not None:
        started = time.perf_counter()
        drafts = _infer(breaker, lambda: measured(client, claimed.study_id))
    else:
        pipeline = PIPELINES[claimed.model_name]
        if job_input is None:
            raise SourceDataError("no input series")
        dataset = source.representative_instance(job_input.series_orthanc_id)
        started = time.perf_counter()
        drafts = _infer(breaker, lambda: pipeline(client, [dataset]))
    return drafts, int((time.perf_counter() - started) * 1000)


def run_job(
    job_id: uuid.UUID,
    *,
    settings: CoreSettings,
    client: InferenceClient,
    source: InstanceSource,
    breaker: CircuitBreaker,
) -> str:
    """Run a job end to end; return its outcome ("succeeded", "failed", "skipped").

    Raises TritonUnavailable (``CircuitOpen`` while the breaker is open) or SourceUnavailable
    after handing the job back to the queue, so the task layer retries with backoff.
    """
    leased = _lease(settings, job_id)
    if leased is None:
        return "skipped"
    claimed, job_input = leased

    def fail(reason: str) -> str:
        _finish(job_id, lambda _session, job: job_service.mark_failed(job=job, reason=reason))
        log.warning("job %s failed: %s", job_id, reason)
        return "failed"

    if (why := _unrunnable(claimed.model_name, job_input)) is not None:
        return fail(why)
    if breaker.state is BreakerState.OPEN:  # hand the job back at once, attempt not spent
        reason = f"circuit open: Triton failed {breaker.consecutive_failures} times in a row"
        _finish(job_id, lambda _s, job: job_service.release_unstarted(job=job, reason=reason))
        raise CircuitOpen(reason)
    job_client = JobVersionClient(client, claimed.model_name, claimed.model_version)
    try:
        drafts, infer_ms = _compute(claimed, job_input, source, breaker, job_client)
    except (TritonUnavailable, SourceUnavailable) as exc:
        reason = f"{type(exc).__name__}: {exc}"
        release = (
            job_service.release_unstarted
            if isinstance(exc, CircuitOpen)
            else job_service.release_for_retry
        )
        _finish(job_id, lambda _session, job: release(job=job, reason=reason))
        raise
    except PERMANENT as exc:  # permanent: no retry
        return fail(f"{type(exc).__name__}: {exc}")

    def record(session: Session, job: InferenceJob) -> None:
        inputs = [FindingInput(**asdict(d)) for d in drafts]
        finding_service.record(session, job=job, findings=inputs)
        job_service.mark_succeeded(
            job=job,
            infer_ms=infer_ms,
            input_series_uid=job_input.series_instance_uid if job_input else None,
            input_stats=job_client.input_stats,
        )
        if not claimed.shadow:  # a shadow run is never shown to readers: no SR in their study
            if job_input is not None:  # the SR refers to an image of the study
                enqueue(session, WRITE_RESULT_SR, queue=QUEUE_INFERENCE, job_id=str(job.id))
            critical_service.on_ai_findings(  # 危急值: flagged, and told if the consortium asks
                session,
                study_id=job.study_id,
                model=f"{job.model_name}:{job.model_version}",
                codes=[(d.code, d.severity) for d in drafts],
            )

    _finish(job_id, record)
    return "succeeded"
