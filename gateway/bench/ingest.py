"""``radbridge bench ingest``: the gateway's ingest paths against raw Orthanc (QUALITY.md P1-P3).

The same files are stored once straight into Orthanc (A) and once through the gateway (B),
alternating A B A B for every round, each run starting from an empty Orthanc; the figures are
medians over the rounds. CPU time is read from ``/proc/<pid>/stat`` of the servers on each
path: Orthanc for A; Orthanc plus the gateway process and its children (uvicorn workers) for
B (the senders are not counted).

STOW-RS runs twice for small objects: batched (``per_request`` slices a request, as STOW-RS
clients send a series) and one slice a request, the worst case. Orthanc's own REST API takes
one instance a request either way. The C-STORE run stops its clock when Orthanc holds every
instance, since the gateway's SCP acknowledges from its spool.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import httpx

from gateway.bench import load
from gateway.bench.data import make_files
from gateway.bench.stack import BENCH_AET, ORTHANC_AET, BenchStack

_TICKS = os.sysconf("SC_CLK_TCK")
SCENARIOS = frozenset({"stow-batched", "stow-single", "stow-large", "cstore"})


@dataclass(frozen=True)
class BenchOptions:
    """Sizes of one run; the defaults are the figures QUALITY.md asks for."""

    rounds: int = 5
    small_count: int = 400
    small_clients: int = 4
    large_count: int = 12
    large_clients: int = 2
    cstore_count: int = 400
    per_request: int = 16  # STOW-RS clients send a series' instances in one request
    large_side: int | None = None  # pixels a side; None: 2736 (15 MB)
    disk_probe_mb: int = 256
    only: frozenset[str] = SCENARIOS  # a subset while working on one path
    gateway_workers: int = 1  # HTTP worker processes; CPU is read from all of them


@dataclass(frozen=True)
class PathFigures:
    """Medians of one path of one scenario."""

    instances_per_s: float
    mb_per_s: float
    cpu_s_per_instance: float


@dataclass(frozen=True)
class ScenarioResult:
    """Raw Orthanc (``a``) against the gateway path (``b``), with the target ratio.

    ``ceiling``: the same load into a receiver that only acknowledges, built on what the
    gateway's path is built on (C-STORE: a bare pynetdicom SCP); no gateway can beat it.
    """

    name: str
    a: PathFigures
    b: PathFigures
    target: float
    ceiling: PathFigures | None = None

    @property
    def ceiling_ratio(self) -> float | None:
        """Return the ceiling's throughput / raw throughput (None when not measured)."""
        if self.ceiling is None:
            return None
        return self.ceiling.instances_per_s / self.a.instances_per_s

    @property
    def ratio(self) -> float:
        """Return gateway throughput / raw throughput."""
        return self.b.instances_per_s / self.a.instances_per_s

    @property
    def cpu_ratio(self) -> float:
        """Return gateway CPU-s per instance / raw CPU-s per instance."""
        return self.b.cpu_s_per_instance / max(self.a.cpu_s_per_instance, 1e-9)


@dataclass
class BenchResult:
    """Every scenario of a run and the disk bandwidth measured in the same run."""

    scenarios: list[ScenarioResult] = field(default_factory=list)
    disk_mb_per_s: float = 0.0


def _with_children(pids: Sequence[int]) -> set[int]:
    """Return ``pids`` and every live descendant (uvicorn's workers, the SCP's forwarder)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:  # exited meanwhile
                continue
            parents[int(entry.name)] = int(fields[1])
    found, grew = set(pids), True
    while grew:
        children = {pid for pid, parent in parents.items() if parent in found}
        grew = not children <= found
        found |= children
    return found


def _cpu_seconds(pids: Sequence[int]) -> float:
    total = 0
    for pid in _with_children(pids):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (all threads)
    return total / _TICKS


def _empty_orthanc(stack: BenchStack) -> None:
    config = stack.orthanc_config
    auth = (config.username, config.password)
    with httpx.Client(auth=auth, timeout=120) as http:
        for study in http.get(f"{config.http_url}/studies").json():
            http.delete(f"{config.http_url}/studies/{study}")


def _wait_for_instances(stack: BenchStack, count: int, timeout_s: float = 120) -> None:
    """Return once Orthanc holds ``count`` instances (it was emptied before the run)."""
    config = stack.orthanc_config
    deadline = time.monotonic() + timeout_s
    with httpx.Client(auth=(config.username, config.password), timeout=30) as http:
        while time.monotonic() < deadline:
            if http.get(f"{config.http_url}/statistics").json()["CountInstances"] >= count:
                return
            time.sleep(0.005)
    raise load.SendFailed(f"Orthanc did not receive all {count} instances in {timeout_s} s")


def _disk_mb_per_s(folder: Path, megabytes: int) -> float:
    block = os.urandom(1 << 20)
    path = folder / "disk-probe.bin"
    started = time.perf_counter()
    with path.open("wb") as handle:
        for _ in range(megabytes):
            handle.write(block)
        handle.flush()
        os.fsync(handle.fileno())
    elapsed = time.perf_counter() - started
    path.unlink()
    return megabytes / elapsed


Sender = Callable[[Sequence[bytes]], float]


def _scenario(
    stack: BenchStack,
    name: str,
    files: Sequence[bytes],
    paths: Sequence[tuple[Sender, list[int]]],
    rounds: int,
    target: float,
) -> ScenarioResult:
    """Time ``paths`` (raw, gateway[, ceiling]) alternating, ``rounds`` times; keep medians."""
    size_mb = sum(len(f) for f in files) / 1e6
    runs: list[list[tuple[float, float]]] = [[] for _ in paths]
    for send, _pids in paths:  # warm-up, not measured
        _empty_orthanc(stack)
        send(files[: max(1, len(files) // 10)])
    for _ in range(rounds):
        for side, (send, pids) in enumerate(paths):
            _empty_orthanc(stack)
            cpu_before = _cpu_seconds(pids)
            seconds = send(files)
            runs[side].append((seconds, _cpu_seconds(pids) - cpu_before))
    _empty_orthanc(stack)
    figures = [
        PathFigures(
            instances_per_s=statistics.median(len(files) / s for s, _ in side_runs),
            mb_per_s=statistics.median(size_mb / s for s, _ in side_runs),
            cpu_s_per_instance=statistics.median(c / len(files) for _, c in side_runs),
        )
        for side_runs in runs
    ]
    return ScenarioResult(name, figures[0], figures[1], target, *figures[2:])


def run_bench(options: BenchOptions, echo: Callable[[str], None] = print) -> BenchResult:
    """Start a private stack, run the three scenarios, return the medians."""
    with BenchStack(gateway_workers=options.gateway_workers) as stack:
        config = stack.orthanc_config
        auth = (config.username, config.password)
        orthanc_pid, gateway_pid, scp_pid = stack.pids("orthanc", "gateway", "scp")
        result = BenchResult(disk_mb_per_s=_disk_mb_per_s(stack.root, options.disk_probe_mb))
        echo(
            f"stack up in {stack.root}; disk {result.disk_mb_per_s:.0f} MB/s;"
            f" gateway HTTP workers: {options.gateway_workers}"
        )
        small = make_files(options.small_count, large=False)
        large = make_files(options.large_count, large=True, side=options.large_side)
        plans = (  # (scenario, kind, files, clients, instances per STOW request, target)
            ("stow-batched", "small", small, options.small_clients, options.per_request, 0.8),
            ("stow-single", "small", small, options.small_clients, 1, 0.8),
            ("stow-large", "large", large, options.large_clients, 1, 0.9),
        )
        for scenario, kind, files, clients, per_request, target in plans:
            if scenario not in options.only:
                continue
            raw = partial(load.rest_direct, config.http_url, auth, clients=clients)
            gw = partial(
                load.stow, stack.gateway_url, stack.token, clients=clients, per_request=per_request
            )
            name = f"STOW {kind} x{len(files)}, {clients} clients, {per_request}/request"
            paths = ((raw, [orthanc_pid]), (gw, [orthanc_pid, gateway_pid]))
            result.scenarios.append(_scenario(stack, name, files, paths, options.rounds, target))
            echo(f"  done: {name}")
        if "cstore" not in options.only:
            return result
        cstore = small[: options.cstore_count]
        raw_dimse = partial(load.storescu, config.dicom_port, BENCH_AET, ORTHANC_AET)
        gw_dimse = partial(
            load.storescu,
            stack.scp_port,
            BENCH_AET,
            ORTHANC_AET,
            settled=partial(_wait_for_instances, stack),
        )
        bare_dimse = partial(load.storescu, stack.bare_scp_port, BENCH_AET, "BARESCP")
        (bare_pid,) = stack.pids("bare-scp")
        name = f"C-STORE x{len(cstore)}, 1 association"
        dimse_paths = (
            (raw_dimse, [orthanc_pid]),
            (gw_dimse, [orthanc_pid, scp_pid]),
            (bare_dimse, [bare_pid]),
        )
        result.scenarios.append(_scenario(stack, name, cstore, dimse_paths, options.rounds, 0.8))
    return result


def report(result: BenchResult, echo: Callable[[str], None] = print) -> None:
    """Print the figures and their ratios against the targets."""
    echo(f"disk write bandwidth: {result.disk_mb_per_s:.0f} MB/s")
    for s in result.scenarios:
        echo(f"{s.name}")
        for label, f in (("orthanc", s.a), ("gateway", s.b)):
            echo(
                f"  {label:<8} {f.instances_per_s:9.1f} inst/s {f.mb_per_s:8.1f} MB/s "
                f"{f.cpu_s_per_instance * 1000:8.3f} ms CPU/inst"
            )
        verdict = "meets" if s.ratio >= s.target else "BELOW"
        if "large" in s.name and result.disk_mb_per_s:
            share = s.b.mb_per_s / result.disk_mb_per_s
            echo(f"  gateway MB/s / disk MB/s {share:.2f} (target >= 0.50)")
        echo(
            f"  ratio {s.ratio:.2f} (target >= {s.target:.2f}: {verdict}); "
            f"CPU ratio {s.cpu_ratio:.2f}"
        )
        if s.ceiling is not None:
            echo(
                f"  ceiling: a bare pynetdicom SCP that only acknowledges "
                f"{s.ceiling.instances_per_s:.1f} inst/s "
                f"{s.ceiling.cpu_s_per_instance * 1000:.3f} ms CPU/inst, "
                f"ratio {s.ceiling_ratio:.2f}"
            )
