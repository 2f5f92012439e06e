"""Run the pixel pipeline a model manifest describes (``input.preprocessing``, docs/models.md).

The manifest lists steps in order; this module turns them into an ``InputSpec`` and applies it
to a series' instances. Decoding always applies the Modality LUT and shows MONOCHROME1 the right
way round (the ``modality_lut`` and ``invert_monochrome1`` steps document that the model
expects it); the other steps choose the frame, the window, grey or colour, the volume, the size
and the value mapping. A manifest asking for something the pipeline cannot give (a dynamic
size, a resize that disagrees with the tensor shape) is refused with ``InputSpecError``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal, Protocol

import numpy as np
from pydicom.dataset import Dataset

from inference.dicom.decode import PixelDataError, frame_count
from inference.dicom.input_spec import InputSpec, InputSpecError, prepare_image, prepare_volume
from inference.dicom.volume import assemble_volume


class ManifestStep(Protocol):
    """One ``input.preprocessing`` entry (``services.model_registry.manifest``)."""

    @property
    def step(self) -> str: ...  # noqa: D102
    @property
    def size(self) -> list[int] | None: ...  # noqa: D102
    @property
    def mode(self) -> str | None: ...  # noqa: D102
    @property
    def range(self) -> tuple[float, float] | None: ...  # noqa: D102
    @property
    def window(self) -> tuple[float, float] | None: ...  # noqa: D102


class ManifestInput(Protocol):
    """A manifest's ``input`` section."""

    @property
    def datatype(self) -> str: ...  # noqa: D102
    @property
    def shape(self) -> list[int]: ...  # noqa: D102
    @property
    def preprocessing(self) -> Sequence[ManifestStep]: ...  # noqa: D102


@dataclass(frozen=True)
class ManifestPipeline:
    """What the steps ask for: the spec, which frame, and whether the series is a volume."""

    spec: InputSpec
    frame: Literal["first", "middle"] = "first"
    volume: bool = False


def pipeline_from_manifest(section: ManifestInput) -> ManifestPipeline:
    """Translate a manifest's input section into a ``ManifestPipeline``.

    Raises
    ------
    InputSpecError
        If the model takes no pixels (no steps) or the steps cannot produce its tensor.
    """
    steps = {s.step: s for s in section.preprocessing}
    if not steps:
        raise InputSpecError("This model's input has no preprocessing steps: it takes no pixels.")
    volume = "volume" in steps
    shape = [int(size) for size in section.shape]
    spatial_rank = 3 if volume else 2
    if len(shape) not in (spatial_rank, spatial_rank + 1) or min(shape) < 1:
        raise InputSpecError(
            f"input shape {shape} does not fit a {'volume' if volume else 'image'} model: "
            f"give {spatial_rank} fixed sizes, optionally after a channel axis (1 or 3)."
        )
    channels = shape[0] if len(shape) == spatial_rank + 1 else 0
    spatial = tuple(shape[-spatial_rank:])
    resize = steps.get("resize")
    if resize is not None and resize.size and tuple(resize.size) != spatial[-len(resize.size) :]:
        raise InputSpecError(f"resize size {resize.size} differs from the input shape {spatial}.")
    spec = InputSpec(shape=spatial, channels=channels, datatype=section.datatype)
    spec = _windowing(spec, steps.get("voi_window"))
    spec = _normalize(spec, steps.get("normalize"))
    clip = steps.get("clip")
    if clip is not None:
        if clip.range is None:
            raise InputSpecError("the clip step needs range: [low, high].")
        spec = replace(spec, clip=clip.range)
    if "to_grayscale" in steps:
        spec = replace(spec, to_grey=True)  # colour -> luminance, repeated for 3 channels
    frame: Literal["first", "middle"] = "middle" if "middle_frame" in steps else "first"
    return ManifestPipeline(spec=spec, frame=frame, volume=volume)


def _windowing(spec: InputSpec, step: ManifestStep | None) -> InputSpec:
    if step is None:
        return replace(spec, normalization="stored-range")  # no VOI: keep the stored range
    return replace(spec, normalization="window", window=step.window)


def _normalize(spec: InputSpec, step: ManifestStep | None) -> InputSpec:
    if step is None or step.mode in (None, "window"):
        return replace(spec, value_range=step.range if step and step.range else (0.0, 1.0))
    if step.mode == "minmax":
        return replace(spec, stretch="minmax", value_range=step.range or (0.0, 1.0))
    if step.mode == "zscore":
        return replace(spec, stretch="zscore")
    if step.range is None:  # "fixed"
        raise InputSpecError("normalize mode fixed needs range: [low, high].")
    return replace(spec, value_range=step.range)


def prepare_from_manifest(section: ManifestInput, datasets: Sequence[Dataset]) -> np.ndarray:
    """Return the tensor (no batch axis) the manifest asks for, from a series' instances.

    An image model reads the first instance (its first or middle frame); a volume model
    assembles every instance.

    Raises
    ------
    InputSpecError
        If the manifest's steps cannot produce the tensor.
    inference.dicom.decode.PixelDataError
        If the pixels cannot be decoded or the slices do not form a volume.
    """
    pipeline = pipeline_from_manifest(section)
    if not datasets:
        raise PixelDataError("The series holds no instance to read.")
    if pipeline.volume:
        return prepare_volume(assemble_volume(datasets), pipeline.spec)
    ds = datasets[0]
    frame = frame_count(ds) // 2 if pipeline.frame == "middle" else 0
    return prepare_image(ds, pipeline.spec, frame=frame)
