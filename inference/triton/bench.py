"""Triton benchmarks: dynamic batching (QUALITY.md P6) and the bare-client baseline of P5.

``batching`` runs the same load against ``benchmark_batched`` and ``benchmark_unbatched`` (one
model file, fixed cost per batch; two configs, with and without Triton's dynamic batcher) in
the same run, and reports the throughput ratio. ``bare_latency`` times a plain ``tritonclient``
gRPC call, the baseline our dispatch path is compared with.

Run ``python -m inference.triton.bench`` to start a local Triton on the shipped models and
print the batching figures. Timings are figures to report, never test assertions.
"""

from __future__ import annotations

import argparse
import contextlib
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import tritonclient.grpc as grpcclient

from inference.triton.grpc_client import GrpcInferenceClient

BATCHED, UNBATCHED = "benchmark_batched", "benchmark_unbatched"


@dataclass(frozen=True)
class Latencies:
    """Seconds per call, with the wall time of the whole run."""

    samples: tuple[float, ...]
    wall_s: float = 0.0

    def percentile_ms(self, q: float) -> float:
        """Return the ``q``-th percentile in milliseconds."""
        return float(np.percentile(np.asarray(self.samples), q) * 1000.0)

    @property
    def throughput(self) -> float:
        """Return calls per second over the wall time."""
        return len(self.samples) / self.wall_s if self.wall_s > 0 else 0.0


def timed(call: Callable[[], object], repeat: int) -> Latencies:
    """Time ``call`` ``repeat`` times in a row."""
    samples = []
    started = time.perf_counter()
    for _ in range(repeat):
        t0 = time.perf_counter()
        call()
        samples.append(time.perf_counter() - t0)
    return Latencies(tuple(samples), time.perf_counter() - started)


def concurrent_load(
    grpc_url: str, model: str, *, concurrency: int, requests_each: int, width: int = 16
) -> Latencies:
    """Send ``requests_each`` single-row requests from each of ``concurrency`` threads.

    Raises
    ------
    RuntimeError
        If any answer is missing or wrong (a benchmark of wrong answers measures nothing).
    """
    samples: list[float] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    start = threading.Barrier(concurrency + 1)

    def worker(seed: int) -> None:
        row = np.full((1, width), float(seed), dtype=np.float32)
        mine: list[float] = []
        try:
            with GrpcInferenceClient(grpc_url, timeout_s=60) as client:
                client.infer(model, "1", {"INPUT": row}, ["OUTPUT"])  # connect before timing
                start.wait()
                for _ in range(requests_each):
                    t0 = time.perf_counter()
                    answer = client.infer(model, "1", {"INPUT": row}, ["OUTPUT"])
                    mine.append(time.perf_counter() - t0)
                    if float(answer["OUTPUT"][0, 0]) != seed * width:
                        raise RuntimeError(f"{model} answered {answer['OUTPUT']} to row {seed}")
        except BaseException as error:  # reported after the join
            errors.append(error)
            start.abort()
        with lock:
            samples.extend(mine)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(concurrency)]
    for thread in threads:
        thread.start()
    with contextlib.suppress(threading.BrokenBarrierError):  # a worker failed: joined below
        start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - began
    if errors:
        raise RuntimeError(f"{len(errors)} load thread(s) failed: {errors[0]!r}") from errors[0]
    return Latencies(tuple(samples), wall)


@dataclass
class BatchingFigures:
    """P6: the same load with and without dynamic batching."""

    concurrency: int
    batched: Latencies
    unbatched: Latencies
    single_unbatched: Latencies
    figures: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.figures = {
            "batched_rps": self.batched.throughput,
            "unbatched_rps": self.unbatched.throughput,
            "batching_speedup": self.batched.throughput / max(self.unbatched.throughput, 1e-9),
            "batched_p50_ms": self.batched.percentile_ms(50),
            "unbatched_p50_ms": self.unbatched.percentile_ms(50),
            "unbatched_concurrency1_p50_ms": self.single_unbatched.percentile_ms(50),
        }


def batching(grpc_url: str, *, concurrency: int = 16, requests_each: int = 20) -> BatchingFigures:
    """Measure both benchmark models under the same load, in the same run."""
    single = concurrent_load(grpc_url, UNBATCHED, concurrency=1, requests_each=requests_each)
    batched = concurrent_load(
        grpc_url, BATCHED, concurrency=concurrency, requests_each=requests_each
    )
    unbatched = concurrent_load(
        grpc_url, UNBATCHED, concurrency=concurrency, requests_each=requests_each
    )
    return BatchingFigures(concurrency, batched, unbatched, single)


def bare_latency(
    grpc_url: str, model: str, inputs: dict[str, np.ndarray], outputs: Sequence[str], repeat: int
) -> Latencies:
    """Time a plain ``tritonclient.grpc`` call (no checks, no wrapper): P5's baseline."""
    client = grpcclient.InferenceServerClient(url=grpc_url)
    try:
        request = []
        for name, array in inputs.items():
            tensor = grpcclient.InferInput(name, list(array.shape), "FP32")
            tensor.set_data_from_numpy(np.ascontiguousarray(array, dtype=np.float32))
            request.append(tensor)
        wanted = [grpcclient.InferRequestedOutput(name) for name in outputs]
        client.infer(model, request, model_version="1", outputs=wanted)  # warm the channel
        return timed(
            lambda: client.infer(model, request, model_version="1", outputs=wanted), repeat
        )
    finally:
        client.close()


def main(argv: Sequence[str] | None = None) -> None:
    """Start a local Triton on the shipped models and print the batching figures."""
    from inference.models.repository import build_model_repository
    from inference.triton.server import LocalTriton, TritonPorts

    parser = argparse.ArgumentParser(description="Triton dynamic-batching benchmark (P6).")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--requests-each", type=int, default=40)
    parser.add_argument("--ports", default="8110,8111,8112", help="HTTP,gRPC,metrics")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="radbridge-bench-") as tmp:
        repository = build_model_repository(Path(tmp) / "models")
        ports = TritonPorts(*(int(port) for port in args.ports.split(",")))
        with LocalTriton(repository, Path(tmp) / "work", ports=ports) as server:
            result = batching(
                server.grpc_url, concurrency=args.concurrency, requests_each=args.requests_each
            )
    for name, value in result.figures.items():
        print(f"{name:32s} {value:10.2f}")  # noqa: T201


if __name__ == "__main__":
    main()
