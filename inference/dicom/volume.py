"""Assemble the slices of a CT (or MR) series into one volume, with its geometry checked.

Slices are ordered by their position along the slice normal (the cross product of the row and
column directions of Image Orientation Patient), never by Instance Number, which modalities
number in either direction or restart. The slice spacing comes from those positions, not from
Slice Thickness or Spacing Between Slices, which describe acquisition rather than placement.
A series whose slices do not form one regular grid (mixed orientations, two slices at one
position, uneven gaps, differing sizes) is refused with ``GeometryError``: a model resampling
such a series would measure nodules and bleeds at the wrong size.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from pydicom.dataset import Dataset

from inference.dicom.decode import PixelDataError
from inference.dicom.pixels import modality_frames

ORIENTATION_TOLERANCE = 1e-3  # direction cosines: about 0.06 degrees
POSITION_TOLERANCE_MM = 1e-2  # two slices closer than this along the normal are duplicates
GAP_TOLERANCE = 0.05  # a gap may differ from the median gap by 5 %


class GeometryError(PixelDataError):
    """The slices of a series do not form one regular volume."""


@dataclass(frozen=True)
class Volume:
    """A regular grid of voxels in Modality LUT units (Hounsfield units for CT).

    Attributes
    ----------
    voxels
        float32 ``(slices, rows, columns)``, slice 0 lowest along ``normal``.
    spacing_mm
        ``(slice, row, column)`` spacing: the distance between slice centres, then Pixel
        Spacing's row spacing (between rows) and column spacing (between columns).
    origin_mm
        Image Position Patient of the first voxel of slice 0.
    orientation
        The row and column direction cosines (Image Orientation Patient).
    sop_instance_uids
        The instance behind each slice, in slice order.
    """

    voxels: np.ndarray
    spacing_mm: tuple[float, float, float]
    origin_mm: tuple[float, float, float]
    orientation: tuple[float, ...]
    sop_instance_uids: tuple[str, ...]

    @property
    def normal(self) -> np.ndarray:
        """Return the unit slice normal (row direction x column direction)."""
        cosines = np.asarray(self.orientation, dtype=np.float64)
        return np.cross(cosines[:3], cosines[3:])


def assemble_volume(slices: Sequence[Dataset]) -> Volume:
    """Sort single-frame slices along their normal and stack them into a ``Volume``.

    Raises
    ------
    GeometryError
        If there are fewer than two slices, a slice lacks its geometry, orientations or sizes
        differ, two slices share a position, or the gaps between slices are uneven.
    inference.dicom.decode.PixelDataError
        If a slice's pixels cannot be decoded.
    """
    if len(slices) < 2:
        raise GeometryError(f"A volume needs at least 2 slices, the series has {len(slices)}.")
    orientation = _common_orientation(slices)
    normal = np.cross(orientation[:3], orientation[3:])
    positions = np.array([_vector(ds, "ImagePositionPatient", 3) for ds in slices])
    distances = positions @ normal
    order = np.argsort(distances, kind="stable")
    ordered = [slices[i] for i in order]
    slice_spacing = _even_spacing(distances[order], ordered)
    row_spacing, column_spacing = _common_pixel_spacing(ordered)
    _check_same_size(ordered)
    voxels = np.concatenate([_single_frame(ds) for ds in ordered]).astype(np.float32)
    first = positions[order[0]]
    return Volume(
        voxels=voxels,
        spacing_mm=(slice_spacing, row_spacing, column_spacing),
        origin_mm=(float(first[0]), float(first[1]), float(first[2])),
        orientation=tuple(float(v) for v in orientation),
        sop_instance_uids=tuple(str(ds.get("SOPInstanceUID", "")) for ds in ordered),
    )


def _vector(ds: Dataset, keyword: str, length: int) -> np.ndarray:
    value = ds.get(keyword)
    uid = ds.get("SOPInstanceUID", "?")
    if value is None or len(value) != length:
        raise GeometryError(f"Slice {uid} has no valid {keyword} ({length} numbers needed).")
    try:
        return np.array([float(v) for v in value], dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise GeometryError(f"Slice {uid} has a non-numeric {keyword}: {value!r}.") from exc


def _common_orientation(slices: Sequence[Dataset]) -> np.ndarray:
    cosines = np.array([_vector(ds, "ImageOrientationPatient", 6) for ds in slices])
    reference: np.ndarray = cosines[0]
    if np.linalg.norm(np.cross(reference[:3], reference[3:])) < 0.5:
        raise GeometryError("Image Orientation Patient does not hold two perpendicular axes.")
    differs = np.abs(cosines - reference).max(axis=1) > ORIENTATION_TOLERANCE
    if differs.any():
        odd = slices[int(np.argmax(differs))].get("SOPInstanceUID", "?")
        raise GeometryError(
            f"Mixed orientations in one series: slice {odd} is oriented "
            f"{list(np.round(cosines[int(np.argmax(differs))], 4))}, the first slice "
            f"{list(np.round(reference, 4))}. Split the series (e.g. localizers) first."
        )
    return reference


def _even_spacing(distances: np.ndarray, ordered: Sequence[Dataset]) -> float:
    gaps = np.diff(distances)
    if (gaps < POSITION_TOLERANCE_MM).any():
        at = int(np.argmin(gaps))
        raise GeometryError(
            f"Duplicate slice position: slices {ordered[at].get('SOPInstanceUID', '?')} and "
            f"{ordered[at + 1].get('SOPInstanceUID', '?')} lie {gaps[at]:.3f} mm apart along the "
            "normal (two acquisitions or reconstructions mixed in one series?)."
        )
    median = float(np.median(gaps))
    uneven = np.abs(gaps - median) > GAP_TOLERANCE * median
    if uneven.any():
        at = int(np.argmax(np.abs(gaps - median)))
        raise GeometryError(
            f"Uneven slice gaps: {gaps[at]:.3f} mm after slice "
            f"{ordered[at].get('SOPInstanceUID', '?')} where the series spacing is "
            f"{median:.3f} mm (missing slices?)."
        )
    return float(distances[-1] - distances[0]) / (len(distances) - 1)


def _common_pixel_spacing(slices: Sequence[Dataset]) -> tuple[float, float]:
    spacings = {tuple(np.round(_vector(ds, "PixelSpacing", 2), 6)) for ds in slices}
    if len(spacings) != 1:
        raise GeometryError(f"Slices of one series have different Pixel Spacing: {spacings}.")
    row, column = spacings.pop()
    if row <= 0 or column <= 0:
        raise GeometryError(f"Pixel Spacing must be positive, got {(row, column)}.")
    return float(row), float(column)


def _check_same_size(slices: Sequence[Dataset]) -> None:
    sizes = {(int(ds.get("Rows", 0)), int(ds.get("Columns", 0))) for ds in slices}
    if len(sizes) != 1:
        raise GeometryError(f"Slices of one series have different sizes (rows, cols): {sizes}.")


def _single_frame(ds: Dataset) -> np.ndarray:
    frames = modality_frames(ds)
    if frames.shape[0] != 1:
        raise GeometryError(
            f"Slice {ds.get('SOPInstanceUID', '?')} holds {frames.shape[0]} frames: "
            "multi-frame (enhanced) objects are read as volumes by their functional groups."
        )
    return frames
