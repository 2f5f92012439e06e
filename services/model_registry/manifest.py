"""The model manifest: one YAML (or TOML) file per model version, validated before anything runs.

A manifest says what a model is (name, version, vendor, regulatory status), which studies and
series it may run on, what tensor it takes, how its outputs become findings, and how Triton
serves it. ``docs/models.md`` documents every field. Unknown keys are errors (a typo must not
silently drop a matching rule), and every problem is reported with its place in the file.
"""

from __future__ import annotations

import re
import tomllib
from enum import StrEnum
from pathlib import Path, PurePosixPath
from typing import Annotated, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    ValidationError,
    model_serializer,
    model_validator,
)

from services.model_registry._manifest_errors import ManifestError, describe

__all__ = ["AI_NOTICE", "ManifestError", "ModelManifest", "load_manifest", "parse_manifest"]

AI_NOTICE = {"en": "AI-assisted, for reference", "zh-CN": "AI辅助，仅供参考"}
_NAME = r"^[a-z][a-z0-9_]{1,62}$"
_UID = r"^[0-9]+(\.[0-9]+)*$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Labels(_Strict):
    """Text in the product's two languages."""

    en: str = Field(min_length=1)
    zh_cn: str = Field(alias="zh-CN", min_length=1)


class RegulatoryStatus(StrEnum):
    """Whether results may be used clinically; both are advisory ("for reference")."""

    RESEARCH_ONLY = "research-only"
    CERTIFIED = "certified"


class Regulatory(_Strict):
    """Regulatory status; a certified model carries its NMPA registration number."""

    status: RegulatoryStatus
    nmpa_registration: str | None = Field(default=None, min_length=6, max_length=64)
    intended_use: str = ""

    @model_validator(mode="after")
    def _registration_matches_status(self) -> Regulatory:
        certified = self.status is RegulatoryStatus.CERTIFIED
        if certified and not self.nmpa_registration:
            raise ValueError("a certified model needs nmpa_registration (e.g. 国械注准20233210001)")
        if not certified and self.nmpa_registration:
            raise ValueError("nmpa_registration is only allowed with status: certified")
        return self

    @property
    def notice(self) -> dict[str, str]:
        """Return the wording shown next to every result of this model."""
        if self.status is RegulatoryStatus.CERTIFIED:
            reg = self.nmpa_registration or ""
            return {
                "en": f"{AI_NOTICE['en']} (NMPA {reg})",
                "zh-CN": f"{AI_NOTICE['zh-CN']}（注册证号 {reg}）",
            }
        return {
            "en": f"{AI_NOTICE['en']} (research use only)",
            "zh-CN": f"{AI_NOTICE['zh-CN']}（仅供科研）",
        }


class SeriesChoice(StrEnum):
    """How to pick one series when several match."""

    MOST_INSTANCES = "most_instances"
    THINNEST = "thinnest"  # smallest slice thickness, then most instances


class Match(_Strict):
    """Which studies and series a model applies to; an empty list means "any"."""

    modalities: list[str] = Field(min_length=1)
    body_parts: list[str] = []
    sop_classes: list[Annotated[str, Field(pattern=_UID)]] = []
    view_positions: list[str] = []
    orientation: Literal["axial", "coronal", "sagittal"] | None = None
    min_slices: int = Field(default=1, ge=1)
    max_slices: int | None = Field(default=None, ge=1)
    series_choice: SeriesChoice = SeriesChoice.MOST_INSTANCES
    # new_study: routed when a study arrives. signed_report: the model's inputs are a reader's
    # measurements, so it runs when a report carrying them is signed (nodule_vdt), never at ingest.
    trigger: Literal["new_study", "signed_report"] = "new_study"

    @model_serializer(mode="wrap")
    def _omit_default_trigger(self, handler: SerializerFunctionWrapHandler) -> object:
        # Manifests registered before this key existed keep their digest (manifest_sha256).
        data = handler(self)
        if isinstance(data, dict) and data.get("trigger") == "new_study":
            data.pop("trigger", None)
        return data

    @model_validator(mode="after")
    def _slices_in_order(self) -> Match:
        if self.max_slices is not None and self.max_slices < self.min_slices:
            raise ValueError("max_slices must be at least min_slices")
        return self


TensorType = Literal["FP32", "FP16", "UINT8", "INT8", "INT16", "INT32", "INT64", "BOOL"]
Step = Literal[
    "first_frame",
    "middle_frame",
    "modality_lut",
    "voi_window",
    "invert_monochrome1",
    "to_grayscale",
    "volume",
    "resize",
    "normalize",
    "clip",
]


class PreprocessingStep(_Strict):
    """One step of the pixel pipeline, applied in order."""

    step: Step
    size: list[Annotated[int, Field(ge=1)]] | None = None  # resize
    mode: Literal["window", "minmax", "zscore", "fixed"] | None = None  # normalize
    range: tuple[float, float] | None = None  # normalize fixed / clip
    window: tuple[float, float] | None = None  # voi_window override: centre, width


class InputSpec(_Strict):
    """The one input tensor, without the batch dimension."""

    tensor: str = Field(min_length=1)
    datatype: TensorType
    shape: list[Annotated[int, Field(ge=-1)]] = Field(min_length=1)
    preprocessing: list[PreprocessingStep] = []


class OutputSpec(_Strict):
    """One output tensor, without the batch dimension; ``labels`` name its last axis."""

    tensor: str = Field(min_length=1)
    datatype: TensorType
    shape: list[Annotated[int, Field(ge=-1)]] = Field(min_length=1)
    labels: list[str] = []


class Coding(_Strict):
    """A finding's code in a public terminology."""

    scheme: Literal["SNOMED-CT", "RadLex"]
    code: str = Field(min_length=2, max_length=32)
    meaning: str = Field(min_length=1)

    @model_validator(mode="after")
    def _code_fits_scheme(self) -> Coding:
        if self.scheme == "SNOMED-CT" and not self.code.isdigit():
            raise ValueError(f"a SNOMED CT concept id is digits only, got {self.code!r}")
        if self.scheme == "RadLex" and not re.fullmatch(r"RID[0-9]+", self.code):
            raise ValueError(f"a RadLex id looks like RID1234, got {self.code!r}")
        return self


class FindingRule(_Strict):
    """How one output value becomes a finding.

    The finding is present when the value is at or above ``threshold`` (``direction:
    below``: strictly below it, for "normal" findings such as "image quality adequate").
    """

    code: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{1,62}$")
    output: str
    index: int = Field(default=0, ge=0)
    coding: Coding
    label: Labels
    threshold: float = Field(ge=0.0, le=1.0)
    direction: Literal["at_or_above", "below"] = "at_or_above"
    severity: Literal["normal", "significant", "critical"]


class DynamicBatching(_Strict):
    """Triton's dynamic batcher."""

    preferred_batch_size: list[Annotated[int, Field(ge=1)]] = []
    max_queue_delay_microseconds: int = Field(default=0, ge=0)


class TritonSpec(_Strict):
    """How Triton serves the model; ``config.pbtxt`` is generated from this."""

    backend: Literal["python", "onnxruntime", "pytorch", "tensorrt", "openvino"]
    model_dir: str = Field(min_length=1)  # folder with the model files, relative to the manifest
    max_batch_size: int = Field(ge=0)
    dynamic_batching: DynamicBatching | None = None
    instance_count: int = Field(default=1, ge=1)
    instance_kind: Literal["CPU", "GPU"] = "CPU"
    # Files of model_dir that are not shipped with it (licensed weights): publishing refuses a
    # model_dir lacking one, and the shipped repository leaves such a model out until they exist.
    required_files: list[str] = []

    @model_validator(mode="after")
    def _required_files_stay_inside(self) -> TritonSpec:
        for name in self.required_files:
            parts = PurePosixPath(name).parts
            if not name or name.startswith("/") or ".." in parts or "\\" in name:
                raise ValueError(
                    f"required_files entry {name!r} must be a relative path inside model_dir"
                )
        return self

    @model_serializer(mode="wrap")
    def _omit_empty_required_files(self, handler: SerializerFunctionWrapHandler) -> object:
        # Manifests registered before this key existed keep their digest (manifest_sha256).
        data = handler(self)
        if isinstance(data, dict) and not data.get("required_files"):
            data.pop("required_files", None)
        return data

    @model_validator(mode="after")
    def _batching_fits(self) -> TritonSpec:
        if self.dynamic_batching and self.max_batch_size == 0:
            raise ValueError("dynamic_batching needs max_batch_size >= 1")
        for size in self.dynamic_batching.preferred_batch_size if self.dynamic_batching else []:
            if size > self.max_batch_size:
                raise ValueError(f"preferred_batch_size {size} exceeds max_batch_size")
        return self


class ModelManifest(_Strict):
    """One model version, as ``radbridge models add`` registers it."""

    manifest_version: Literal[1]
    name: str = Field(pattern=_NAME)
    version: str = Field(pattern=r"^[1-9][0-9]{0,8}$")
    display_name: Labels
    vendor: str = Field(min_length=1, max_length=200)
    regulatory: Regulatory
    match: Match
    input: InputSpec
    outputs: list[OutputSpec] = Field(min_length=1)
    findings: list[FindingRule] = Field(min_length=1)
    triton: TritonSpec

    @model_validator(mode="after")
    def _findings_name_real_outputs(self) -> ModelManifest:
        outputs = {o.tensor: o for o in self.outputs}
        codes: set[str] = set()
        for rule in self.findings:
            if rule.code in codes:
                raise ValueError(f"finding code {rule.code!r} is listed twice")
            codes.add(rule.code)
            out = outputs.get(rule.output)
            if out is None:
                raise ValueError(
                    f"finding {rule.code!r} reads output {rule.output!r}, "
                    f"which is not among outputs {sorted(outputs)}"
                )
            width = out.shape[-1]
            if width > 0 and rule.index >= width:
                raise ValueError(f"finding {rule.code!r}: index {rule.index} >= width {width}")
        return self

    @property
    def key(self) -> tuple[str, str]:
        """Return ``(name, version)``, the model version's identity."""
        return self.name, self.version


def parse_manifest(data: object, *, source: str = "manifest") -> ModelManifest:
    """Validate already-parsed manifest data; raise ManifestError listing every problem."""
    try:
        return ModelManifest.model_validate(data)
    except ValidationError as error:
        raise ManifestError(source, describe(error, ModelManifest)) from None


def load_manifest(path: Path) -> ModelManifest:
    """Read and validate a ``.yaml``/``.yml``/``.toml`` manifest file."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ManifestError(str(path), [f"cannot read the file: {error.strerror}"]) from None
    try:
        data: object = tomllib.loads(text) if path.suffix == ".toml" else yaml.safe_load(text)
    except (yaml.YAMLError, tomllib.TOMLDecodeError) as error:
        raise ManifestError(str(path), [f"not valid {path.suffix[1:].upper()}: {error}"]) from None
    return parse_manifest(data, source=str(path))
