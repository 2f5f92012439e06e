"""Decode the stored pixels of a DICOM image, every transfer syntax, into numpy frames.

pydicom chooses the decoder: its own for uncompressed, deflated and RLE data, and the
``pylibjpeg`` plugins (libjpeg: JPEG baseline/extended/lossless; openjpeg: JPEG 2000; rle) or
``pyjpegls`` (JPEG-LS) for the compressed syntaxes. Colour comes back as RGB: pydicom converts
YBR_FULL and YBR_FULL_422 (and the JPEG 2000 YBR_RCT/YBR_ICT colour transforms), and
``PALETTE COLOR`` is looked up here, so callers only ever see grey or RGB.
"""

from __future__ import annotations

import numpy as np
from pydicom.dataset import Dataset
from pydicom.pixels.decoders.base import get_decoder
from pydicom.pixels.processing import apply_color_lut

_PIXEL_KEYWORDS = ("PixelData", "FloatPixelData", "DoubleFloatPixelData")
GREY = ("MONOCHROME1", "MONOCHROME2")


class PixelDataError(ValueError):
    """The dataset has no usable image: no pixel data, or it cannot be decoded."""


def frame_count(ds: Dataset) -> int:
    """Return the Number of Frames (1 when absent), or raise ``PixelDataError`` if it is bad."""
    raw = ds.get("NumberOfFrames", 1)
    try:
        count = int(raw or 1)
    except (TypeError, ValueError) as exc:
        raise PixelDataError(f"Number of Frames {raw!r} is not a whole number.") from exc
    if count < 1:
        raise PixelDataError(f"Number of Frames is {count}: the object holds no image.")
    return count


def decode_frames(ds: Dataset, *, index: int | None = None) -> np.ndarray:
    """Return the stored values of every frame (or only frame ``index``), frames first.

    Returns
    -------
    numpy.ndarray
        ``(frames, rows, columns)`` for grey images, ``(frames, rows, columns, 3)`` RGB for
        colour ones (``PALETTE COLOR`` already looked up). Values are the stored values, before
        the Modality LUT.

    Raises
    ------
    PixelDataError
        If there is no pixel data, no transfer syntax, or the data cannot be decoded (corrupt,
        truncated, or a transfer syntax with no installed decoder).
    """
    if not any(keyword in ds for keyword in _PIXEL_KEYWORDS):
        kind = getattr(ds.get("SOPClassUID"), "name", None) or "unknown SOP class"
        raise PixelDataError(f"The DICOM object ({kind}) has no pixel data: it is not an image.")
    syntax = getattr(getattr(ds, "file_meta", None), "TransferSyntaxUID", None)
    if syntax is None:
        raise PixelDataError("The DICOM object has no Transfer Syntax UID: cannot decode pixels.")
    count = frame_count(ds)
    if index is not None and not 0 <= index < count:
        raise PixelDataError(f"Frame {index} asked for, the object holds {count} frame(s).")
    try:
        # Decode one frame when one is asked for: a multi-frame object may hold hundreds.
        array, _ = get_decoder(syntax).as_array(ds, index=index)
    except Exception as exc:  # decoder plugins raise many unrelated types for one cause
        raise PixelDataError(
            f"Cannot decode the pixel data ({syntax.name}): {exc}. The file may be truncated or "
            "corrupt, or no decoder for this transfer syntax is installed."
        ) from exc
    photometric = str(ds.get("PhotometricInterpretation", "MONOCHROME2")).upper()
    samples = int(ds.get("SamplesPerPixel", 1) or 1)
    if index is not None or count == 1:
        array = array[np.newaxis]
    if photometric == "PALETTE COLOR":
        array = _palette_to_rgb(array, ds)
        samples = 3
    expected_ndim = 3 if samples == 1 else 4
    if array.ndim != expected_ndim or min(array.shape[1:3]) < 1:
        raise PixelDataError(
            f"Decoded pixels have shape {array.shape}, which does not fit {samples} sample(s) "
            f"per pixel of {photometric}."
        )
    return array


def _palette_to_rgb(array: np.ndarray, ds: Dataset) -> np.ndarray:
    try:
        return np.asarray(apply_color_lut(array, ds))
    except (AttributeError, ValueError, KeyError, IndexError) as exc:
        raise PixelDataError(f"PALETTE COLOR image with an unusable palette: {exc}") from exc


def is_grey(ds: Dataset) -> bool:
    """Return whether ``ds`` is a MONOCHROME1/2 image."""
    return str(ds.get("PhotometricInterpretation", "MONOCHROME2")).upper() in GREY
