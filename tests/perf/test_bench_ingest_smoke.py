"""The ingest benchmark at tiny sizes: it starts its stack, runs A/B rounds and reports.

Never asserts timings (a shared 2-core machine); only that every path stored every file and
that each figure and ratio is produced.
"""

from __future__ import annotations

import socket
from dataclasses import replace

import pytest

from gateway.bench import stack as bench_stack
from gateway.bench.ingest import BenchOptions, report, run_bench
from tests.fixtures.orthanc import require_orthanc

pytestmark = pytest.mark.integration
TINY = BenchOptions(  # every path, at sizes that take seconds
    rounds=2,
    small_count=12,
    small_clients=2,
    large_count=2,
    large_clients=2,
    cstore_count=12,
    large_side=256,
    disk_probe_mb=8,
    per_request=4,
)


def test_bench_ingest_runs_every_path_and_prints_ratios() -> None:
    require_orthanc()
    options = TINY
    lines: list[str] = []

    result = run_bench(options, echo=lines.append)
    report(result, echo=lines.append)

    assert [s.name.split()[0] for s in result.scenarios] == ["STOW", "STOW", "STOW", "C-STORE"]
    assert [s.name.split(", ")[-1] for s in result.scenarios[:3]] == [
        "4/request",
        "1/request",
        "1/request",
    ]
    for scenario in result.scenarios:
        for figures in (scenario.a, scenario.b):
            assert figures.instances_per_s > 0
            assert figures.cpu_s_per_instance >= 0
        assert scenario.ratio > 0
    assert result.disk_mb_per_s > 0
    cstore = result.scenarios[-1]
    assert cstore.ceiling is not None  # the bare pynetdicom SCP stored every file too
    assert cstore.ceiling.instances_per_s > 0
    assert [s.ceiling for s in result.scenarios[:3]] == [None, None, None]
    assert sum(line.startswith("  ratio") for line in lines) == 4
    assert sum(line.startswith("  ceiling") for line in lines) == 1


def test_bench_ingest_runs_only_the_scenarios_asked_for_with_several_http_workers() -> None:
    require_orthanc()
    options = replace(
        TINY, rounds=1, small_count=8, only=frozenset({"stow-single"}), gateway_workers=2
    )

    result = run_bench(options, echo=lambda _line: None)

    (scenario,) = result.scenarios
    assert scenario.name == "STOW small x8, 2 clients, 1/request"
    assert scenario.b.instances_per_s > 0
    assert scenario.b.cpu_s_per_instance > 0  # read from the workers, not their idle parent


def test_the_bench_stack_starts_again_on_other_ports_when_one_was_taken(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A port found free but taken before the SCP bound it failed a whole benchmark run."""
    require_orthanc()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        handed_out: list[int] = []
        free_port = bench_stack._free_port

        def scp_port_taken_once() -> int:
            handed_out.append(port if len(handed_out) == 3 else free_port())  # 4th: the SCP's
            return handed_out[-1]

        monkeypatch.setattr(bench_stack, "_free_port", scp_port_taken_once)
        with bench_stack.BenchStack() as stack:
            assert stack.scp_port not in (0, port)
            with socket.create_connection(("127.0.0.1", stack.scp_port), timeout=5):
                pass  # the SCP of the second start listens

    assert handed_out.count(port) == 1
    assert len(handed_out) == 10  # five ports a start, two starts
