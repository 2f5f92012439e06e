"""Assemble the slices of a CT (or MR) series into one volume, with its geometry checked.

Slices are ordered by their position along the slice normal (the cross product of the row and
column directions of Image Orientation Patient), never by Instance Number, which modalities
number in either direction or restart. The slice spacing comes from those positions, not from
Slice Thickness or Spacing Between Slices, which describe acquisition rather than placement.
A series whose slices do not form one regular grid (mixed orientations, two slices at one
position, uneven gaps, differing sizes) is refused with ``GeometryError``: a model resampling
such a series would measure nodules and bleeds at the wrong size.

A slice is a classic single-frame instance or one frame of an enhanced multi-frame object
(Enhanced CT/MR, Legacy Converted Enhanced), whose geometry and rescale come from its
functional groups (``inference.dicom.planes``); both follow the same rules.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from pydicom.dataset import Dataset

from inference.dicom.decode import PixelDataError, decode_frames, is_grey
from inference.dicom.pixels import modality_frames
from inference.dicom.planes import GeometryError, Plane, planes_of

__all__ = ["GeometryError", "Volume", "assemble_volume"]

ORIENTATION_TOLERANCE = 1e-3  # direction cosines: about 0.06 degrees
POSITION_TOLERANCE_MM = 1e-2  # two slices closer than this along the normal are duplicates
GAP_TOLERANCE = 0.05  # a gap may differ from the median gap by 5 %


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
        The instance behind each slice, in slice order (repeated for an enhanced object).
    frame_numbers
        The frame of that instance behind each slice (1-based; 1 for a classic slice).
    """

    voxels: np.ndarray
    spacing_mm: tuple[float, float, float]
    origin_mm: tuple[float, float, float]
    orientation: tuple[float, ...]
    sop_instance_uids: tuple[str, ...]
    frame_numbers: tuple[int, ...] = ()

    @property
    def normal(self) -> np.ndarray:
        """Return the unit slice normal (row direction x column direction)."""
        cosines = np.asarray(self.orientation, dtype=np.float64)
        return np.cross(cosines[:3], cosines[3:])


def assemble_volume(slices: Sequence[Dataset]) -> Volume:
    """Sort the slices (or enhanced frames) along their normal and stack them into a ``Volume``.

    ``slices`` are the instances of one series: classic single-frame slices, one (or more)
    enhanced multi-frame objects, or both.

    Raises
    ------
    GeometryError
        If there are fewer than two slices, a slice lacks its geometry, orientations or sizes
        differ, two slices share a position, or the gaps between slices are uneven.
    inference.dicom.decode.PixelDataError
        If a slice's pixels cannot be decoded.
    """
    planes = [plane for ds in slices for plane in planes_of(ds)]
    if len(planes) < 2:
        raise GeometryError(f"A volume needs at least 2 slices, the series has {len(planes)}.")
    orientation = _common_orientation(planes)
    normal = np.cross(orientation[:3], orientation[3:])
    positions = np.array([plane.position for plane in planes])
    distances = positions @ normal
    order = np.argsort(distances, kind="stable")
    ordered = [planes[i] for i in order]
    slice_spacing = _even_spacing(distances[order], ordered)
    row_spacing, column_spacing = _common_pixel_spacing(ordered)
    _check_same_size(ordered)
    first = positions[order[0]]
    return Volume(
        voxels=_voxels(ordered),
        spacing_mm=(slice_spacing, row_spacing, column_spacing),
        origin_mm=(float(first[0]), float(first[1]), float(first[2])),
        orientation=tuple(float(v) for v in orientation),
        sop_instance_uids=tuple(str(p.source.get("SOPInstanceUID", "")) for p in ordered),
        frame_numbers=tuple(1 if p.frame is None else p.frame + 1 for p in ordered),
    )


def _common_orientation(planes: Sequence[Plane]) -> np.ndarray:
    cosines = np.array([plane.orientation for plane in planes])
    reference: np.ndarray = cosines[0]
    if np.linalg.norm(np.cross(reference[:3], reference[3:])) < 0.5:
        raise GeometryError("Image Orientation Patient does not hold two perpendicular axes.")
    differs = np.abs(cosines - reference).max(axis=1) > ORIENTATION_TOLERANCE
    if differs.any():
        odd = planes[int(np.argmax(differs))].label
        raise GeometryError(
            f"Mixed orientations in one series: slice {odd} is oriented "
            f"{list(np.round(cosines[int(np.argmax(differs))], 4))}, the first slice "
            f"{list(np.round(reference, 4))}. Split the series (e.g. localizers) first."
        )
    return reference


def _even_spacing(distances: np.ndarray, ordered: Sequence[Plane]) -> float:
    gaps = np.diff(distances)
    if (gaps < POSITION_TOLERANCE_MM).any():
        at = int(np.argmin(gaps))
        raise GeometryError(
            f"Duplicate slice position: slices {ordered[at].label} and "
            f"{ordered[at + 1].label} lie {gaps[at]:.3f} mm apart along the normal (two "
            "acquisitions, temporal positions or reconstructions mixed in one series?)."
        )
    median = float(np.median(gaps))
    uneven = np.abs(gaps - median) > GAP_TOLERANCE * median
    if uneven.any():
        at = int(np.argmax(np.abs(gaps - median)))
        raise GeometryError(
            f"Uneven slice gaps: {gaps[at]:.3f} mm after slice {ordered[at].label} where the "
            f"series spacing is {median:.3f} mm (missing slices?)."
        )
    return float(distances[-1] - distances[0]) / (len(distances) - 1)


def _common_pixel_spacing(planes: Sequence[Plane]) -> tuple[float, float]:
    spacings = {tuple(np.round(plane.pixel_spacing, 6)) for plane in planes}
    if len(spacings) != 1:
        raise GeometryError(f"Slices of one series have different Pixel Spacing: {spacings}.")
    row, column = spacings.pop()
    if row <= 0 or column <= 0:
        raise GeometryError(f"Pixel Spacing must be positive, got {(row, column)}.")
    return float(row), float(column)


def _check_same_size(planes: Sequence[Plane]) -> None:
    sizes = {(int(p.source.get("Rows", 0)), int(p.source.get("Columns", 0))) for p in planes}
    if len(sizes) != 1:
        raise GeometryError(f"Slices of one series have different sizes (rows, cols): {sizes}.")


def _voxels(planes: Sequence[Plane]) -> np.ndarray:
    """Stack the planes' values in Modality LUT units; each enhanced object is decoded once."""
    decoded: dict[int, np.ndarray] = {}
    stack = []
    for plane in planes:
        if plane.rescale is None or plane.frame is None:
            stack.append(modality_frames(plane.source))
            continue
        key = id(plane.source)
        if key not in decoded:
            decoded[key] = _stored_frames(plane.source)
        slope, intercept = plane.rescale
        values = decoded[key][plane.frame].astype(np.float64) * slope + intercept
        stack.append(values[np.newaxis])
    voxels: np.ndarray = np.concatenate(stack).astype(np.float32)
    return voxels


def _stored_frames(ds: Dataset) -> np.ndarray:
    if not is_grey(ds):
        photometric = ds.get("PhotometricInterpretation")
        raise PixelDataError(f"A {photometric} image has no modality values (not grey).")
    return decode_frames(ds)
