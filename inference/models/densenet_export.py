"""Export DenseNet-121 weights in TorchXRayVision's format to ONNX, and lay out its Triton folder.

Weights are always read from a local file, never downloaded:

* ``.npz``: one array per state-dict key (``features.conv0.weight``...), no PyTorch needed;
* ``.pt`` / ``.pth``: TorchXRayVision's files pickle the whole ``torch.nn.Module``, so reading
  them needs ``torch`` (``pip install torch==2.13.0``, the CPU build) and ``torchxrayvision``
  importable; a plain state dict needs ``torch`` only. Only this exporter ever imports torch.

Usage: ``python -m inference.models.densenet_export WEIGHTS OUT.onnx [--op-thresholds a,b,...]``.
"""

from __future__ import annotations

import argparse
import importlib
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import onnx

from inference.models.densenet_onnx import WeightsError, densenet121_graph
from inference.registry.repository import LocalRepository, publish
from services.model_registry.manifest import load_manifest

MODEL_NAME = "chest_xray_densenet"
_FAMILY = Path(__file__).resolve().parent / "chest_xray_densenet"
_PYTORCH_HINT = (
    "reading a PyTorch file needs torch: `pip install torch==2.13.0` (CPU build) and, for "
    "TorchXRayVision's whole-model files, `pip install torchxrayvision`; or convert the weights "
    "to .npz once elsewhere"
)


def state_dict_file(path: Path) -> dict[str, np.ndarray]:
    """Read a state dict (name -> float array) from ``.npz``, ``.pt`` or ``.pth``.

    Raises
    ------
    WeightsError
        If the file is missing or of another kind, or torch is needed and absent.
    """
    if not path.is_file():
        raise WeightsError(f"No weights file at {path}.")
    if path.suffix == ".npz":
        with np.load(path, allow_pickle=False) as archive:
            return {key: np.asarray(archive[key]) for key in archive.files}
    if path.suffix in (".pt", ".pth"):
        return _torch_state_dict(path)
    raise WeightsError(f"{path.name}: expected a .npz, .pt or .pth weights file.")


def _torch_state_dict(path: Path) -> dict[str, np.ndarray]:
    try:
        torch: Any = importlib.import_module("torch")
    except ImportError as exc:
        raise WeightsError(f"{path.name}: {_PYTORCH_HINT}.") from exc
    # A whole pickled module runs code on load: only ever open weights from a trusted vendor.
    loaded = torch.load(str(path), map_location="cpu", weights_only=False)
    state = loaded.state_dict() if hasattr(loaded, "state_dict") else loaded
    if not isinstance(state, dict):
        raise WeightsError(f"{path.name} holds a {type(state).__name__}, not a state dict.")
    prefix = "module."  # weights saved from torch.nn.DataParallel
    return {
        key.removeprefix(prefix): value.detach().cpu().numpy()
        for key, value in state.items()
        if hasattr(value, "detach") and not key.endswith("num_batches_tracked")
    }


def export_densenet(
    weights: Path, out: Path, *, op_thresholds: Sequence[float] | None = None
) -> Path:
    """Write the ONNX model built from ``weights`` to ``out`` and return ``out``."""
    model = densenet121_graph(state_dict_file(weights), op_thresholds=op_thresholds)
    out.parent.mkdir(parents=True, exist_ok=True)
    onnx.save_model(model, str(out))
    return out


def write_triton_folder(onnx_file: Path, repository: Path, *, version: str = "1") -> Path:
    """Publish ``repository/chest_xray_densenet`` with ``onnx_file`` as its weights.

    The config is generated from the family's manifest (as ``radbridge models add`` does); the
    version folder gets the shipped ``model.py`` and ``model.onnx``.

    Returns
    -------
    Path
        The model folder.
    """
    manifest = load_manifest(_FAMILY / "manifest.yaml")
    if version != manifest.version:
        manifest = manifest.model_copy(update={"version": version})
    with tempfile.TemporaryDirectory(prefix="radbridge-densenet-") as tmp:
        staging = Path(tmp)
        model_dir = staging / manifest.triton.model_dir
        shutil.copytree(
            _FAMILY / manifest.triton.model_dir,
            model_dir,
            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
        )
        shutil.copyfile(onnx_file, model_dir / "model.onnx")
        publish(manifest, staging, LocalRepository(repository))
    return repository / MODEL_NAME


def main(argv: Sequence[str] | None = None) -> None:
    """Command-line entry point (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("weights", type=Path, help=".npz, .pt or .pth DenseNet-121 weights")
    parser.add_argument("out", type=Path, help="the .onnx file to write")
    parser.add_argument(
        "--op-thresholds",
        help="comma-separated per-label operating thresholds (TorchXRayVision op_threshs)",
    )
    args = parser.parse_args(argv)
    thresholds = [float(v) for v in args.op_thresholds.split(",")] if args.op_thresholds else None
    try:
        written = export_densenet(args.weights, args.out, op_thresholds=thresholds)
    except WeightsError as error:
        parser.exit(2, f"error: {error}\n")
    print(f"wrote {written} ({written.stat().st_size / 1e6:.1f} MB)")  # noqa: T201


if __name__ == "__main__":
    main()
