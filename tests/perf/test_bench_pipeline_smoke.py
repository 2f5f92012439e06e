"""The pipeline benchmark (P8) at a tiny size: every study reaches the worklist with its AI result.

Runs the real private stack (Orthanc, Triton, worker, watcher, API, gateway as processes).
Never asserts a time (a shared 2-core machine): only that every study was acknowledged, got
its jobs, ran and became visible, with the timestamps in pipeline order, and that the report
prints the per-kind figures against their targets.
"""

from __future__ import annotations

import pytest

from services.cli.bench_pipeline import LoadPlan, percentile, report, run_bench
from tests.fixtures.orthanc import require_orthanc


@pytest.mark.integration
@pytest.mark.usefixtures("triton_env_dir")  # fails, never skips, without the Triton install
def test_every_study_becomes_visible_with_ordered_timestamps() -> None:
    require_orthanc()
    plan = LoadPlan(studies=3, per_hour=2400, ct_slices=(24, 24), cr_side=256, settle_timeout_s=240)
    lines: list[str] = []

    timelines = run_bench(plan, echo=lines.append)
    report(timelines, plan, echo=lines.append)

    assert [t.spec.kind for t in timelines] == ["CR", "CR", "CT"]
    for timeline in timelines:
        assert timeline.ai_flag == "AI_DONE", timeline
        assert timeline.models and all(m.endswith(":SUCCEEDED") for m in timeline.models)
        assert timeline.ordered(), timeline
        assert timeline.infer_ms is not None
    assert any(line.startswith("CR: 2/2 visible") and "target <= 60 s" in line for line in lines)
    assert any(line.startswith("CT: 1/1 visible") and "target <= 120 s" in line for line in lines)
    assert any("2 x assumed county-consortium peak" in line for line in lines)
    assert any(line.strip().startswith("jobs: image_quality:SUCCEEDED") for line in lines)


@pytest.mark.unit
def test_load_plan_mixes_ct_in_at_the_stated_rate() -> None:
    specs = LoadPlan(studies=9, per_hour=180, ct_slices=(100, 300)).specs()

    assert [s.kind for s in specs].count("CT") == 3
    assert [s.slices for s in specs if s.kind == "CT"] == [100, 200, 300]
    assert [s.send_at_s for s in specs[:3]] == [0.0, 20.0, 40.0]


@pytest.mark.unit
def test_percentile_interpolates_between_ranks() -> None:
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5
    assert percentile([10.0], 95) == 10.0
