"""Inference benchmarks on the real components, small enough for every test run (P5, P6).

Figures are printed (``pytest -s``) and never asserted: the machine is shared and has 2 cores.
What is asserted is that each benchmark ran, got right answers and produced every figure.

P6: ``benchmark_batched`` vs ``benchmark_unbatched`` at concurrency 16, same run.
P5: our dispatch of one image-quality job (``inference.runner.run_job``: lease, fetch from
Orthanc, preprocess, Triton, findings + study status committed = time to finding) against a bare
``tritonclient`` call on the same tensor, with the split fetch / preprocess / infer / persist.
The SR follow-up (``inference.result_sr_job``: build with highdicom, store in Orthanc) runs
after that commit as its own task and is timed separately.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from sqlalchemy import update

from inference import result_sr_job, runner
from inference.circuit import CircuitBreaker
from inference.dicom import results_sr
from inference.pipelines import image_quality
from inference.triton.bench import Latencies, bare_latency, batching, timed
from inference.triton.grpc_client import GrpcInferenceClient
from inference.triton.server import LocalTriton
from services.kit.settings import get_settings
from services.models import InferenceJob
from services.study import repository as study_repository
from tests.inference.test_runner import (  # noqa: F401  (fixtures used by name)
    Rig,
    consortium,
    only_job,
    rig,
    source,
    writer,
)

pytestmark = pytest.mark.integration
DISPATCHES = 25


def test_dynamic_batching_throughput_with_and_without(triton_server: LocalTriton):
    result = batching(triton_server.grpc_url, concurrency=16, requests_each=5)

    assert len(result.batched.samples) == len(result.unbatched.samples) == 80
    assert all(value > 0 for value in result.figures.values())
    print("\nP6 dynamic batching, concurrency 16:")
    for name, value in result.figures.items():
        print(f"  {name:32s} {value:9.2f}")


class Timer:
    """Wrap an object so the time spent in one of its methods is recorded per call."""

    def __init__(self, inner: Any, method: str, spent: list[float]) -> None:
        self._inner, self._method, self._spent = inner, method, spent

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._inner, name)
        if name != self._method:
            return attribute

        def timed(*args: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return attribute(*args, **kwargs)
            finally:
                self._spent.append(time.perf_counter() - t0)

        return timed


def timed_function(function: Callable[..., Any], spent: list[float]) -> Callable[..., Any]:
    def timed(*args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            spent.append(time.perf_counter() - t0)

    return timed


def p50_ms(values: list[float]) -> float:
    return float(np.percentile(values, 50) * 1000)


def test_dispatch_overhead_against_a_bare_triton_call(
    rig: Rig,  # noqa: F811
    triton_client: GrpcInferenceClient,
    triton_server: LocalTriton,
    monkeypatch: pytest.MonkeyPatch,
):
    study = rig.register_ct()
    job = only_job(rig.db, study.id)
    assert job.model_name == image_quality.MODEL_NAME
    names = ("fetch", "preprocess", "infer", "sr_build", "sr_store", "all", "sr_task")
    spent: dict[str, list[float]] = {name: [] for name in names}
    dataset = rig.source.representative_instance(study_series(rig, job))
    tensor = image_quality.preprocess(dataset)[np.newaxis]
    timed_source = Timer(rig.source, "representative_instance", spent["fetch"])
    sr_source = Timer(rig.source, "representative_instance", [])
    timed_writer = Timer(rig.writer, "store", spent["sr_store"])
    timed_client = Timer(triton_client, "infer", spent["infer"])
    monkeypatch.setattr(
        image_quality, "preprocess", timed_function(image_quality.preprocess, spent["preprocess"])
    )
    build = results_sr.build_report
    monkeypatch.setattr(results_sr, "build_report", timed_function(build, spent["sr_build"]))
    for _ in range(DISPATCHES):
        with rig.db.factory.begin() as session:  # run the same job again: back to the queue
            session.execute(
                update(InferenceJob).where(InferenceJob.id == job.id)
                .values(status="QUEUED", lease_until=None, result_sr_uid=None)
            )  # fmt: skip
        t0 = time.perf_counter()
        outcome = runner.run_job(
            job.id, settings=get_settings(), client=timed_client, source=timed_source,
            breaker=CircuitBreaker(),
        )  # fmt: skip
        spent["all"].append(time.perf_counter() - t0)
        assert outcome == "succeeded"
        t0 = time.perf_counter()  # the follow-up task the commit queued, off the finding's path
        written = result_sr_job.write_result_sr(job.id, source=sr_source, writer=timed_writer)
        spent["sr_task"].append(time.perf_counter() - t0)
        assert written == "written"

    assert all(len(values) == DISPATCHES for values in spent.values())
    bare = bare_latency(
        triton_server.grpc_url, image_quality.MODEL_NAME, {"IMAGE": tensor},
        image_quality.OUTPUT_NAMES, DISPATCHES * 2,
    )  # fmt: skip
    ours = timed(
        lambda: triton_client.infer(
            image_quality.MODEL_NAME, "1", {"IMAGE": tensor}, image_quality.OUTPUT_NAMES
        ),
        DISPATCHES * 2,
    )
    report(spent, bare, ours)


def study_series(test_rig: Rig, job: InferenceJob) -> str:
    with test_rig.db.factory() as session:
        series = study_repository.series_of(session, job.study_id)
    orthanc_id = max(series, key=lambda s: s.instance_count).orthanc_id
    assert orthanc_id is not None
    return orthanc_id


def report(spent: dict[str, list[float]], bare: Latencies, ours: Latencies) -> None:
    total, bare_p50 = p50_ms(spent["all"]), bare.percentile_ms(50)
    names = ("fetch", "preprocess", "infer", "sr_build", "sr_store", "sr_task")
    parts = {name: p50_ms(spent[name]) for name in names}
    rest = total - parts["fetch"] - parts["preprocess"] - parts["infer"]
    lines = [
        f"P5 dispatch vs bare tritonclient ({DISPATCHES} dispatches, image_quality, 256x256 FP32):",
        f"  bare tritonclient gRPC        p50 {bare_p50:8.2f} ms  p99 {bare.percentile_ms(99):8.2f}",
        f"  our dispatch (run_job)        p50 {total:8.2f} ms  ratio {total / bare_p50:6.1f}x"
        f"  added {total - bare_p50:8.2f} ms",
        f"    fetch (Orthanc REST)        p50 {parts['fetch']:8.2f} ms",
        f"    preprocess                  p50 {parts['preprocess']:8.2f} ms",
        f"    infer (our gRPC client)     p50 {parts['infer']:8.2f} ms",
        f"    persist: DB + the rest      ~   {rest:8.2f} ms (lease, findings, study status)",
        f"  SR follow-up task             p50 {parts['sr_task']:8.2f} ms (after the finding)",
        f"    build SR (highdicom)        p50 {parts['sr_build']:8.2f} ms",
        f"    store SR (Orthanc)          p50 {parts['sr_store']:8.2f} ms",
        f"  our client, back to back      p50 {ours.percentile_ms(50):8.2f} ms"
        f"  ratio {ours.percentile_ms(50) / bare_p50:5.2f}x  added"
        f" {ours.percentile_ms(50) - bare_p50:6.2f} ms",
    ]
    print("\n" + "\n".join(lines))
