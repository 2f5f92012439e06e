"""Turn DICOM images into float32 grey levels in 0..1 (or modality values), with numpy only.

The steps follow the DICOM grayscale pipeline (PS3.4 Annex N): decode the frames, apply
the Modality LUT (or Rescale Slope/Intercept), map to 0..1 (see ``Normalization``), and invert
MONOCHROME1 so that 0 is always black and 1 white, as a reader sees it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import numpy as np
from pydicom.dataset import Dataset
from pydicom.pixels.processing import apply_modality_lut, apply_voi_lut

from inference.dicom.decode import PixelDataError, decode_frames, is_grey
from inference.dicom.frame_luts import frame_luts
from inference.dicom.planes import is_enhanced

Normalization = Literal["window", "stored-range", "percentile"]
"""How grey levels are mapped to 0..1.

``"window"``
    The first VOI LUT or Window Center/Width of the dataset, i.e. what the modality intended the
    reader to see; falls back to ``"stored-range"`` when the dataset has none.
``"stored-range"``
    The full range the stored bits can hold, after the Modality LUT. Keeps exposure information.
``"percentile"``
    The 1st..99th percentile of this image. Contrast-normalises every image, which suits a
    classifier but erases exactly what an exposure check measures.
"""

_RGB_TO_LUMA = np.array([0.299, 0.587, 0.114])  # ITU-R BT.601, as DICOM's YBR_FULL uses

__all__ = [
    "Normalization",
    "PixelDataError",
    "display_frames",
    "modality_frames",
    "radiograph_image",
    "resample",
    "resize",
]


def radiograph_image(ds: Dataset, *, normalization: Normalization = "window") -> np.ndarray:
    """Return the first frame of ``ds`` as a 2-D float32 array in 0..1, 0 = black.

    Colour images (RGB, YBR, PALETTE COLOR) are reduced to their luminance.

    Raises
    ------
    PixelDataError
        If there is no pixel data or it cannot be decoded (corrupt, truncated, or a transfer
        syntax with no installed decoder).
    """
    frame: np.ndarray = display_frames(ds, normalization=normalization, index=0)[0]
    return frame


def display_frames(
    ds: Dataset,
    *,
    normalization: Normalization = "window",
    window: tuple[float, float] | None = None,
    index: int | None = None,
    colour: Literal["luma", "rgb"] = "luma",
) -> np.ndarray:
    """Return every frame (or frame ``index``) as float32 in 0..1, 0 = black, frames first.

    Parameters
    ----------
    window
        ``(center, width)`` in Modality LUT units (e.g. Hounsfield units) that replaces the
        dataset's own VOI LUT or window, e.g. a lung window a model was trained on.
    colour
        ``"luma"`` reduces colour images to ``(frames, rows, cols)`` luminance; ``"rgb"`` keeps
        them ``(frames, rows, cols, 3)`` (grey images stay single-channel either way).

    Raises
    ------
    PixelDataError
        If there is no pixel data or it cannot be decoded.
    """
    frames = decode_frames(ds, index=index)
    if is_grey(ds):
        grey = _per_frame(
            frames, ds, index, lambda f, luts: _grey_to_unit(f, luts, normalization, window)
        )
        if str(ds.get("PhotometricInterpretation", "")).upper() == "MONOCHROME1":
            grey = 1.0 - grey  # MONOCHROME1 stores low values as white
    else:
        grey = _colour_to_unit(frames, ds, colour)
    unit: np.ndarray = np.clip(grey, 0.0, 1.0).astype(np.float32)
    unit[np.isnan(unit)] = 0.0
    return unit


def modality_frames(ds: Dataset) -> np.ndarray:
    """Return every grey frame in Modality LUT units (e.g. CT Hounsfield units), float32.

    Raises
    ------
    PixelDataError
        If the image is not grey, or its pixels cannot be decoded.
    """
    if not is_grey(ds):
        photometric = ds.get("PhotometricInterpretation")
        raise PixelDataError(f"A {photometric} image has no modality values (not grey).")
    values = _per_frame(decode_frames(ds), ds, None, apply_modality_lut)
    modality: np.ndarray = np.asarray(values, dtype=np.float32)
    return modality


def _per_frame(
    frames: np.ndarray,
    ds: Dataset,
    index: int | None,
    step: Callable[[np.ndarray, Dataset], np.ndarray],
) -> np.ndarray:
    """Apply a LUT ``step`` to ``frames`` (all of ``ds``'s, or frame ``index``) at once.

    An enhanced image's frames each carry their own rescale and window (``frame_luts``), so
    there the step runs frame by frame; a classic image's frames share the top-level ones.
    """
    if not is_enhanced(ds):
        return step(frames, ds)
    first = 0 if index is None else index
    return np.stack([step(frame, frame_luts(ds, first + k)) for k, frame in enumerate(frames)])


def _grey_to_unit(
    frames: np.ndarray,
    ds: Dataset,
    normalization: Normalization,
    window: tuple[float, float] | None,
) -> np.ndarray:
    values = np.asarray(apply_modality_lut(frames, ds), dtype=np.float64)
    if window is not None:
        center, width = window
        if width <= 0:
            raise ValueError(f"A window needs a positive width, got {width}.")
        return _scale(values, center - width / 2.0, center + width / 2.0)
    if normalization == "percentile":
        low, high = np.percentile(values, [1.0, 99.0])
        return _scale(values, float(low), float(high))
    if normalization == "window":
        try:
            windowed = _apply_window(values, ds)
        except (ValueError, NotImplementedError, IndexError, KeyError):
            windowed = None  # a malformed window must not cost the image: use the stored range
        if windowed is not None:
            return windowed
    return _scale(values, *_stored_range(ds))


def _apply_window(values: np.ndarray, ds: Dataset) -> np.ndarray | None:
    """Apply the first VOI LUT, else the first window; None when the dataset has neither."""
    if ds.get("VOILUTSequence"):
        lut_bits = int(ds.VOILUTSequence[0].LUTDescriptor[2])
        indices = np.rint(values).astype(np.int64)  # a LUT is indexed by integer values
        return _scale(apply_voi_lut(indices, ds, index=0, prefer_lut=True), 0.0, 2.0**lut_bits - 1)
    if "WindowCenter" in ds and "WindowWidth" in ds:
        # pydicom's windowing outputs the stored range (after rescale), see _stored_range.
        windowed = apply_voi_lut(values, ds, index=0, prefer_lut=False)
        return _scale(windowed, *_stored_range(ds))
    return None


def _stored_range(ds: Dataset) -> tuple[float, float]:
    """Return the lowest and highest value the stored bits can hold, after the Modality LUT."""
    if ds.get("ModalityLUTSequence"):
        return 0.0, 2.0 ** int(ds.ModalityLUTSequence[0].LUTDescriptor[2]) - 1
    bits = int(ds.get("BitsStored") or ds.get("BitsAllocated") or 16)
    signed = int(ds.get("PixelRepresentation", 0)) == 1
    low, high = (-(2.0 ** (bits - 1)), 2.0 ** (bits - 1) - 1) if signed else (0.0, 2.0**bits - 1)
    slope = float(ds.get("RescaleSlope", 1.0) or 1.0)
    intercept = float(ds.get("RescaleIntercept", 0.0) or 0.0)
    ends = sorted((low * slope + intercept, high * slope + intercept))
    return ends[0], ends[1]


def _colour_to_unit(frames: np.ndarray, ds: Dataset, colour: Literal["luma", "rgb"]) -> np.ndarray:
    if str(ds.get("PhotometricInterpretation", "")).upper() == "PALETTE COLOR":
        bits = int(ds.RedPaletteColorLookupTableDescriptor[2])
    else:  # RGB, or YBR_* which the decoder has already converted to RGB
        bits = int(ds.get("BitsStored") or 8)
    rgb = _scale(frames.astype(np.float64), 0.0, 2.0**bits - 1)
    return rgb if colour == "rgb" else rgb @ _RGB_TO_LUMA


def _scale(values: np.ndarray, low: float, high: float) -> np.ndarray:
    if high <= low:
        return np.zeros_like(values, dtype=np.float64)
    return (np.asarray(values, dtype=np.float64) - low) / (high - low)


def resize(image: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Resize a 2-D image to ``shape`` (rows, columns), returning float32.

    Each axis shrinks by area averaging (every input pixel counted by its overlap, so no
    aliasing) and grows by bilinear interpolation on pixel centres. The aspect ratio is not
    kept: callers that need it must pad first.
    """
    if image.ndim != 2:
        raise ValueError(f"resize expects a 2-D image, got shape {image.shape}")
    return resample(image, shape)


def resample(array: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Resize an n-D ``array`` to ``shape`` axis by axis, like ``resize``; float32.

    Linear in the number of pixels: area averages come from differences of a running sum
    taken at the (fractional) output edges, and upsampling gathers two neighbours.
    """
    if array.ndim != len(shape):
        raise ValueError(f"cannot resample shape {array.shape} to {shape}")
    out = np.asarray(array, dtype=np.float64)
    for axis, size in enumerate(shape):
        if size < 1 or out.shape[axis] < 1:
            raise ValueError(f"cannot resize an axis of {out.shape[axis]} pixels to {size}")
        if out.shape[axis] != size:
            out = np.moveaxis(_resample_first(np.moveaxis(out, axis, 0), size), 0, axis)
    resized: np.ndarray = out.astype(np.float32)
    return resized


def _resample_first(values: np.ndarray, size_out: int) -> np.ndarray:
    """Resample axis 0 of ``values`` (float64) to ``size_out`` samples."""
    size_in = values.shape[0]
    step = size_in / size_out
    if size_out <= size_in:
        running = np.concatenate([np.zeros((1, *values.shape[1:])), np.cumsum(values, axis=0)])
        edges = np.arange(size_out + 1, dtype=np.float64) * step
        whole = np.minimum(np.floor(edges).astype(np.int64), size_in - 1)
        fraction = (edges - whole).reshape(-1, *([1] * (values.ndim - 1)))
        # running sum at a fractional edge: whole pixels before it plus the covered part
        at_edges = running[whole] + fraction * values[whole]
        averaged: np.ndarray = np.diff(at_edges, axis=0) / step
        return averaged
    centres = np.clip((np.arange(size_out) + 0.5) * step - 0.5, 0.0, size_in - 1)
    left = np.floor(centres).astype(np.int64)
    right = np.minimum(left + 1, size_in - 1)
    fraction = (centres - left).reshape(-1, *([1] * (values.ndim - 1)))
    interpolated: np.ndarray = values[left] * (1.0 - fraction) + values[right] * fraction
    return interpolated
