"""Shape DICOM pixels into exactly the tensor a model was trained on.

An ``InputSpec`` (built from a manifest's ``input`` section by ``manifest_input``) says what
the model was trained on: the size, the channel layout, the dtype, how grey levels were mapped
(the modality's own window, a fixed window such as a lung window in Hounsfield units, or each
image's percentiles), and the value range or mean/std the network expects. ``prepare_image``
and ``prepare_volume`` apply it; the batch axis is the caller's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from pydicom.dataset import Dataset

from inference.dicom.pixels import Normalization, display_frames, resample
from inference.dicom.volume import Volume

_DTYPES = {"FP32": np.float32, "FP16": np.float16, "UINT8": np.uint8}
_NORMALIZATIONS = ("window", "stored-range", "percentile")


class InputSpecError(ValueError):
    """An input specification is inconsistent (or a manifest's input cannot be followed)."""


@dataclass(frozen=True)
class InputSpec:
    """What one model input holds, without the batch axis.

    Attributes
    ----------
    shape
        ``(rows, columns)`` for an image model, ``(slices, rows, columns)`` for a volume one.
    channels
        0 for no channel axis; 1 or 3 for a channel-first axis (3 = RGB, grey repeated).
    datatype
        Triton datatype of the tensor: ``FP32``, ``FP16`` or ``UINT8``.
    normalization
        How grey levels become 0..1 when no ``window`` is given (see ``Normalization``).
    window
        ``(center, width)`` in modality units overriding the dataset's window.
    value_range
        The 0..1 grey levels are mapped linearly onto this range.
    stretch
        ``"minmax"`` spreads each prepared tensor over 0..1 before ``value_range``;
        ``"zscore"`` standardises it to mean 0, standard deviation 1 instead.
    mean, std
        Applied per channel after ``value_range`` (ImageNet-style), when given.
    clip
        Final ``(low, high)`` bounds, when given.
    to_grey
        Reduce colour images to luminance even for a 3-channel network.
    """

    shape: tuple[int, ...]
    channels: int = 0
    datatype: str = "FP32"
    normalization: Normalization = "window"
    window: tuple[float, float] | None = None
    value_range: tuple[float, float] = (0.0, 1.0)
    stretch: Literal["none", "minmax", "zscore"] = "none"
    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None
    clip: tuple[float, float] | None = None
    to_grey: bool = False

    def __post_init__(self) -> None:
        if len(self.shape) not in (2, 3) or min(self.shape) < 1:
            raise InputSpecError(f"shape must be 2 or 3 positive sizes, got {self.shape}.")
        if self.channels not in (0, 1, 3):
            raise InputSpecError(f"channels must be 0, 1 or 3, got {self.channels}.")
        if self.datatype not in _DTYPES:
            raise InputSpecError(f"datatype must be one of {sorted(_DTYPES)}: {self.datatype}.")
        if self.normalization not in _NORMALIZATIONS:
            raise InputSpecError(f"normalization must be one of {_NORMALIZATIONS}.")
        if (self.mean is None) != (self.std is None):
            raise InputSpecError("mean and std go together.")

    @property
    def tensor_shape(self) -> tuple[int, ...]:
        """Return the shape of one prepared input (channel axis first when there is one)."""
        return (self.channels, *self.shape) if self.channels else self.shape


def prepare_image(ds: Dataset, spec: InputSpec, *, frame: int = 0) -> np.ndarray:
    """Return one frame of ``ds`` as the model input ``spec.tensor_shape``.

    Raises
    ------
    inference.dicom.decode.PixelDataError
        If the pixels cannot be decoded.
    """
    if len(spec.shape) != 2:
        raise InputSpecError(f"prepare_image needs a 2-D spec, got shape {spec.shape}.")
    colour: Literal["luma", "rgb"] = "rgb" if spec.channels == 3 and not spec.to_grey else "luma"
    unit = display_frames(
        ds, normalization=spec.normalization, window=spec.window, index=frame, colour=colour
    )[0]
    return prepare_unit_image(unit, spec)


def prepare_unit_image(unit: np.ndarray, spec: InputSpec) -> np.ndarray:
    """Return a 0..1 image ``(rows, cols)`` or ``(rows, cols, 3)`` as ``spec.tensor_shape``."""
    planes = np.moveaxis(unit, -1, 0) if unit.ndim == 3 else unit[np.newaxis]
    resized = np.stack([resample(plane, spec.shape) for plane in planes])
    return _finish(resized, spec)


def prepare_volume(volume: Volume, spec: InputSpec) -> np.ndarray:
    """Return a volume windowed and resampled to ``spec.tensor_shape``.

    Without a ``window`` in the spec, the volume's 1st..99th percentiles map to 0..1 (a volume
    has no single display window of its own).
    """
    if len(spec.shape) != 3:
        raise InputSpecError(f"prepare_volume needs a 3-D spec, got shape {spec.shape}.")
    if spec.window is not None:
        center, width = spec.window
        low, high = center - width / 2.0, center + width / 2.0
    else:
        low, high = (float(v) for v in np.percentile(volume.voxels, [1.0, 99.0]))
    span = high - low if high > low else 1.0
    unit = np.clip((volume.voxels - low) / span, 0.0, 1.0)
    return _finish(resample(unit, spec.shape)[np.newaxis], spec)


def _finish(planes: np.ndarray, spec: InputSpec) -> np.ndarray:
    """Lay out channels, map 0..1 onto the value range, standardise, cast."""
    if spec.channels == 3 and planes.shape[0] == 1:
        planes = np.repeat(planes, 3, axis=0)  # a grey image for an RGB network
    elif spec.channels == 1 and planes.shape[0] == 3:
        planes = np.tensordot(np.array([0.299, 0.587, 0.114]), planes, axes=1)[np.newaxis]
    tensor = planes.astype(np.float64)
    if spec.stretch == "zscore":
        tensor = (tensor - tensor.mean()) / max(float(tensor.std()), 1e-6)
    else:
        if spec.stretch == "minmax":
            span = float(tensor.max() - tensor.min())
            tensor = (tensor - tensor.min()) / span if span > 0 else np.zeros_like(tensor)
        low, high = spec.value_range
        tensor = tensor * (high - low) + low
    if spec.mean is not None and spec.std is not None:
        shape = (-1,) + (1,) * (tensor.ndim - 1)
        tensor = (tensor - np.reshape(spec.mean, shape)) / np.reshape(spec.std, shape)
    if spec.clip is not None:
        tensor = np.clip(tensor, *spec.clip)
    if not spec.channels:
        tensor = tensor[0]
    dtype = _DTYPES[spec.datatype]
    if dtype is np.uint8:
        tensor = np.clip(np.rint(tensor), 0, 255)
    result: np.ndarray = tensor.astype(dtype)
    return result
