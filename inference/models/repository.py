"""The models RadBridge ships, and the Triton model repository built from their manifests.

Each shipped model is a folder ``inference/models/<family>/`` holding ``manifest.yaml`` (the
registry's format, docs/models.md) and the version's files under ``triton.model_dir`` (e.g.
``triton/<model_name>/1/model.py``). No ``config.pbtxt`` is kept in the source: the manifest
is the one truth, and the repository gets the config ``radbridge models add`` would generate
(``inference.registry.config_pbtxt``), both in a local folder and under ``s3://``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from inference.registry.repository import LocalRepository, RepositoryTarget, missing_files, publish
from services.model_registry.manifest import ModelManifest as Manifest
from services.model_registry.manifest import load_manifest

_SOURCE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class ModelManifest:
    """What a shipped model is, for routing and for the audit trail."""

    name: str
    version: str
    vendor: str
    regulatory_status: str
    modalities: tuple[str, ...]
    output_labels: dict[str, tuple[str, ...]]


@dataclass(frozen=True)
class ShippedModel:
    """One shipped model version: its validated manifest, its folder, files it still lacks."""

    manifest: Manifest
    family_dir: Path
    missing: tuple[str, ...]

    @property
    def servable(self) -> bool:
        """Return whether every file the manifest requires is present."""
        return not self.missing


def model_repository_source() -> Path:
    """Return the folder holding the shipped model families (``inference/models``)."""
    return _SOURCE


def shipped_models(source: Path | None = None) -> list[ShippedModel]:
    """Validate every ``<family>/manifest.yaml`` under ``source``; raise ManifestError on one."""
    root = source or model_repository_source()
    found = []
    for path in sorted(root.glob("*/manifest.yaml")):
        manifest = load_manifest(path)
        found.append(
            ShippedModel(manifest, path.parent, tuple(missing_files(manifest, path.parent)))
        )
    return found


def publish_shipped_models(target: RepositoryTarget, source: Path | None = None) -> list[str]:
    """Write every servable shipped model, with its generated config, into ``target``.

    All manifests are validated before anything is written, so a typo in one leaves the
    repository as it was. A model whose ``triton.required_files`` are absent (the DenseNet's
    licensed weights) is left out. Other models and other versions in ``target`` stay.

    Returns
    -------
    list[str]
        The names of the models written.
    """
    models = [model for model in shipped_models(source) if model.servable]
    for model in models:
        publish(model.manifest, model.family_dir, target)
    return [model.manifest.name for model in models]


def build_model_repository(target: Path, source: Path | None = None) -> Path:
    """Write the shipped models into the local Triton repository ``target``; idempotent.

    Each model's version folder is replaced as a whole, so files removed from the source do not
    linger; its ``config.pbtxt`` is generated from the manifest.

    Returns
    -------
    Path
        ``target``, ready for ``tritonserver --model-repository``.
    """
    target.mkdir(parents=True, exist_ok=True)
    publish_shipped_models(LocalRepository(target), source)
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
