"""``radbridge bench upload``: the clinic uploader, one file at a time against ``--parallel``.

Each run sends a new study of small CT slices (fresh UIDs, so nothing is "already stored")
from its own folder with its own resume state, through the real tus endpoint of a private
gateway; serial and parallel runs alternate in the same stack, and medians are reported.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from gateway.bench.data import make_files
from gateway.bench.stack import BenchStack
from gateway.upload.client import UploadRunner
from gateway.upload.discover import select
from gateway.upload.resume_state import ResumeState


class _Quiet:
    """No progress output: the benchmark measures the transfer, not the terminal."""

    def begin(self, total_bytes: int, files: int) -> None:
        """Nothing to show."""

    def file(self, name: str) -> None:
        """Nothing to show."""

    def advance(self, sent: int) -> None:
        """Nothing to show."""


@dataclass(frozen=True)
class UploadBench:
    """Median seconds to upload ``files`` slices serially and with ``parallel`` at once."""

    files: int
    parallel: int
    serial_s: float
    parallel_s: float

    @property
    def speed_up(self) -> float:
        """Return how many times faster the parallel upload was."""
        return self.serial_s / self.parallel_s


def _one_run(stack: BenchStack, root: Path, count: int, parallel: int) -> float:
    folder = Path(tempfile.mkdtemp(prefix="study-", dir=root))
    for number, data in enumerate(make_files(count, large=False)):
        (folder / f"IM{number:04d}.dcm").write_bytes(data)
    state = ResumeState(folder.with_suffix(".state.json"), stack.gateway_url)
    runner = UploadRunner(stack.gateway_url, stack.token, state, _Quiet(), parallel=parallel)
    started = time.perf_counter()
    outcome = runner.send(select(folder))
    elapsed = time.perf_counter() - started
    assert outcome is not None
    stored = sum(f.instances for f in outcome.files)
    if stored != count or outcome.status.get("status") != "FINALIZED":
        raise RuntimeError(f"run with --parallel {parallel} stored {stored}/{count}: {outcome}")
    return elapsed


def run_upload_bench(
    count: int, parallel: int, rounds: int, echo: Callable[[str], None] = print
) -> UploadBench:
    """Start a private stack and alternate serial and parallel uploads; return the medians."""
    serial: list[float] = []
    fast: list[float] = []
    with BenchStack() as stack, tempfile.TemporaryDirectory(prefix="rb-upload-") as tmp:
        for number in range(rounds):
            order = (1, parallel) if number % 2 == 0 else (parallel, 1)
            for width in order:
                seconds = _one_run(stack, Path(tmp), count, width)
                (serial if width == 1 else fast).append(seconds)
                echo(f"round {number + 1}: {count} files, --parallel {width}: {seconds:.2f} s")
    return UploadBench(count, parallel, statistics.median(serial), statistics.median(fast))


def report(result: UploadBench, echo: Callable[[str], None] = print) -> None:
    """Print the medians and the ratio."""
    echo(
        f"{result.files} CT slices (~39 kB): serial {result.serial_s:.2f} s, "
        f"--parallel {result.parallel} {result.parallel_s:.2f} s, "
        f"speed-up x{result.speed_up:.2f}"
    )
