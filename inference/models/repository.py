"""The models RadBridge ships, and the Triton model repository built from them.

Each shipped model is a folder ``inference/models/<family>/`` holding ``manifest.yaml`` (the
registry's format, docs/models.md) and
``triton/<model_name>/`` (``config.pbtxt`` + ``<version>/model.py``), the layout Triton serves
both locally and from NVIDIA's container in production.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from services.model_registry.manifest import load_manifest

_SOURCE = Path(__file__).resolve().parent
_IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc")


@dataclass(frozen=True)
class ModelManifest:
    """What a shipped model is, for routing and for the audit trail."""

    name: str
    version: str
    vendor: str
    regulatory_status: str
    modalities: tuple[str, ...]
    output_labels: dict[str, tuple[str, ...]]


def model_repository_source() -> Path:
    """Return the folder holding the shipped model families (``inference/models``)."""
    return _SOURCE


def shipped_model_folders(source: Path | None = None) -> list[Path]:
    """Return every Triton model folder (one with a ``config.pbtxt``) under ``source``."""
    root = source or model_repository_source()
    return sorted(config.parent for config in root.glob("*/triton/*/config.pbtxt"))


def build_model_repository(target: Path, source: Path | None = None) -> Path:
    """Copy every shipped model folder into the Triton repository ``target``; idempotent.

    A model folder already in ``target`` is replaced as a whole, so files removed from the
    source do not linger. Folders of other models in ``target`` are left alone.

    Returns
    -------
    Path
        ``target``, ready for ``tritonserver --model-repository``.
    """
    target.mkdir(parents=True, exist_ok=True)
    for folder in shipped_model_folders(source):
        destination = target / folder.name
        staging = target / f".{folder.name}.staging"
        shutil.rmtree(staging, ignore_errors=True)
        shutil.copytree(folder, staging, ignore=_IGNORED)
        shutil.rmtree(destination, ignore_errors=True)
        staging.rename(destination)
    return target


def read_manifest(family_dir: Path) -> ModelManifest:
    """Read ``family_dir/manifest.yaml`` (raises ManifestError if it is invalid)."""
    manifest = load_manifest(family_dir / "manifest.yaml")
    return ModelManifest(
        name=manifest.name,
        version=manifest.version,
        vendor=manifest.vendor,
        regulatory_status=manifest.regulatory.status.value,
        modalities=tuple(manifest.match.modalities),
        output_labels={out.tensor: tuple(out.labels) for out in manifest.outputs},
    )


def shipped_manifests(source: Path | None = None) -> list[ModelManifest]:
    """Return the manifests of every shipped model family."""
    root = source or model_repository_source()
    return [read_manifest(path.parent) for path in sorted(root.glob("*/manifest.yaml"))]
