"""``radbridge models export-densenet`` and ``radbridge bench inference`` through typer."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
import typer
from typer.testing import CliRunner

from inference import cli
from tests.fixtures.triton import free_ports
from tests.inference.test_chest_xray_densenet import random_densenet121

pytestmark = pytest.mark.integration


@pytest.fixture
def app() -> typer.Typer:
    root = typer.Typer()
    root.add_typer(typer.Typer(help="benchmarks"), name="bench")  # the core CLI's group
    cli.register(root)
    return root


def test_export_densenet_writes_a_valid_onnx_model(app: typer.Typer, tmp_path: Path) -> None:
    weights = tmp_path / "densenet121-random.npz"  # random weights: no clinical meaning
    np.savez(weights, **random_densenet121())  # type: ignore[arg-type]
    out = tmp_path / "out" / "chest.onnx"

    result = CliRunner().invoke(app, ["models", "export-densenet", str(weights), str(out)])

    assert result.exit_code == 0, result.output
    assert f"wrote {out}" in result.output
    model = onnx.load(str(out))
    onnx.checker.check_model(model)
    assert [i.name for i in model.graph.input] == ["IMAGE"]


def test_export_densenet_without_weights_says_what_to_pass(
    app: typer.Typer, tmp_path: Path
) -> None:
    result = CliRunner().invoke(
        app, ["models", "export-densenet", str(tmp_path / "none.npz"), str(tmp_path / "x.onnx")]
    )

    assert result.exit_code == 2
    assert "No weights file" in result.output and "Pass a local DenseNet-121" in result.output
    assert not (tmp_path / "x.onnx").exists()


def test_bench_inference_runs_the_batching_benchmark_on_a_local_triton(app: typer.Typer) -> None:
    ports = ",".join(str(p) for p in free_ports(3))
    args = ["bench", "inference", "--concurrency", "2", "--requests-each", "2", "--ports", ports]

    result = CliRunner().invoke(app, args)

    assert result.exit_code == 0, result.output
    figures = {
        parts[0]: parts[1]
        for parts in map(str.split, result.output.splitlines())
        if len(parts) == 2
    }
    assert float(figures["batched_rps"]) > 0 and float(figures["unbatched_rps"]) > 0
    assert "batching_speedup" in figures


def test_bench_group_is_created_when_the_core_has_none() -> None:
    root = typer.Typer()
    cli.register(root)
    assert [g.name for g in root.registered_groups].count("bench") == 1
