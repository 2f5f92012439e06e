"""Turn a DICOM radiograph into a float32 grey-level image in 0..1, with numpy only.

The steps follow the DICOM grayscale pipeline (PS3.4 Annex N): decode the first frame, apply
the Modality LUT (or Rescale Slope/Intercept), map to 0..1 (see ``Normalization``), and invert
MONOCHROME1 so that 0 is always black and 1 white, as a reader sees it.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydicom.dataset import Dataset
from pydicom.pixels.decoders.base import get_decoder
from pydicom.pixels.processing import apply_color_lut, apply_modality_lut, apply_voi_lut

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

_PIXEL_KEYWORDS = ("PixelData", "FloatPixelData", "DoubleFloatPixelData")
_GREY = ("MONOCHROME1", "MONOCHROME2")
_RGB_TO_LUMA = np.array([0.299, 0.587, 0.114])  # ITU-R BT.601, as DICOM's YBR_FULL uses


class PixelDataError(ValueError):
    """The dataset has no usable image: no pixel data, or it cannot be decoded."""


def radiograph_image(ds: Dataset, *, normalization: Normalization = "window") -> np.ndarray:
    """Return the first frame of ``ds`` as a 2-D float32 array in 0..1, 0 = black.

    Colour images (RGB, YBR, PALETTE COLOR) are reduced to their luminance.

    Raises
    ------
    PixelDataError
        If there is no pixel data or it cannot be decoded (corrupt, truncated, or a transfer
        syntax with no installed decoder).
    """
    frame = _first_frame(ds)
    photometric = str(ds.get("PhotometricInterpretation", "MONOCHROME2")).upper()
    if photometric in _GREY:
        grey = _grey_to_unit(frame, ds, normalization)
        if photometric == "MONOCHROME1":
            grey = 1.0 - grey  # MONOCHROME1 stores low values as white
    else:
        grey = _colour_to_unit(frame, ds, photometric)
    unit: np.ndarray = np.nan_to_num(np.clip(grey, 0.0, 1.0), nan=0.0).astype(np.float32)
    return unit


def _first_frame(ds: Dataset) -> np.ndarray:
    if not any(keyword in ds for keyword in _PIXEL_KEYWORDS):
        kind = getattr(ds.get("SOPClassUID"), "name", None) or "unknown SOP class"
        raise PixelDataError(f"The DICOM object ({kind}) has no pixel data: it is not an image.")
    meta = getattr(ds, "file_meta", None)
    syntax = getattr(meta, "TransferSyntaxUID", None)
    if syntax is None:
        raise PixelDataError("The DICOM object has no Transfer Syntax UID: cannot decode pixels.")
    try:
        # Decode only frame 0: a multi-frame object may hold hundreds of frames.
        frame, _ = get_decoder(syntax).as_array(ds, index=0)
    except Exception as exc:  # decoder plugins raise many unrelated types for one cause
        raise PixelDataError(
            f"Cannot decode the pixel data ({syntax.name}): {exc}. The file may be truncated or "
            "corrupt, or no decoder for this transfer syntax is installed."
        ) from exc
    if frame.ndim not in (2, 3) or min(frame.shape[:2]) < 2:
        raise PixelDataError(f"Unexpected pixel array shape {frame.shape} for one frame.")
    return frame


def _grey_to_unit(frame: np.ndarray, ds: Dataset, normalization: Normalization) -> np.ndarray:
    values = np.asarray(apply_modality_lut(frame, ds), dtype=np.float64)
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


def _colour_to_unit(frame: np.ndarray, ds: Dataset, photometric: str) -> np.ndarray:
    if photometric == "PALETTE COLOR":
        frame = apply_color_lut(frame, ds)
        bits = int(ds.RedPaletteColorLookupTableDescriptor[2])
    else:  # RGB, or YBR_* which the decoder has already converted to RGB
        bits = int(ds.get("BitsStored") or 8)
    if frame.ndim != 3 or frame.shape[-1] != 3:
        raise PixelDataError(f"{photometric} pixels of shape {frame.shape} are not 3-channel.")
    return _scale(frame.astype(np.float64) @ _RGB_TO_LUMA, 0.0, 2.0**bits - 1)


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
    rows = _axis_weights(image.shape[0], shape[0])
    cols = _axis_weights(image.shape[1], shape[1])
    resized: np.ndarray = (rows @ image.astype(np.float32) @ cols.T).astype(np.float32)
    return resized


def _axis_weights(size_in: int, size_out: int) -> np.ndarray:
    """Return the ``(size_out, size_in)`` matrix that resamples one axis."""
    if size_in < 1 or size_out < 1:
        raise ValueError(f"cannot resize an axis of {size_in} pixels to {size_out}")
    step = size_in / size_out
    if size_out <= size_in:
        edges = np.arange(size_out + 1, dtype=np.float64) * step
        pixel = np.arange(size_in, dtype=np.float64)[None, :]
        overlap = np.minimum(edges[1:, None], pixel + 1) - np.maximum(edges[:-1, None], pixel)
        area: np.ndarray = (np.clip(overlap, 0.0, None) / step).astype(np.float32)
        return area
    centres = np.clip((np.arange(size_out) + 0.5) * step - 0.5, 0.0, size_in - 1)
    left = np.floor(centres).astype(np.int64)
    right = np.minimum(left + 1, size_in - 1)
    fraction = centres - left
    weights = np.zeros((size_out, size_in), dtype=np.float64)
    np.add.at(weights, (np.arange(size_out), left), 1.0 - fraction)
    np.add.at(weights, (np.arange(size_out), right), fraction)
    return weights.astype(np.float32)
