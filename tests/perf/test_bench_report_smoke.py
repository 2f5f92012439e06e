"""Smoke test of `radbridge bench report-pdf`: it runs, signs, and reports sane figures."""

from __future__ import annotations

from typer.testing import CliRunner

from services.cli import bench_report
from services.cli.app import app


def test_bench_measures_a_signed_two_page_report() -> None:
    result = bench_report.run(runs=2)
    assert result.pages == 2
    # Both are measured; which is faster is the benchmark's finding, not a correctness fact
    # (under CI load a one-page baseline once took 1.5 s against a 0.6 s two-page render).
    assert result.baseline_ms > 0
    assert result.render_ms > 0
    assert result.sign_ms > 0
    assert result.total_ms >= result.render_ms
    assert result.countersigned_ms > result.countersign_ms > 0


def test_bench_command_prints_the_target() -> None:
    outcome = CliRunner().invoke(app, ["bench", "report-pdf", "--runs", "1"])
    assert outcome.exit_code == 0, outcome.output
    assert "target <= 500 ms" in outcome.output
    assert "2-page report + key image" in outcome.output
    assert "countersigned (双签, two signatures) median" in outcome.output
