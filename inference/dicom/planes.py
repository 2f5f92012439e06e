"""Where each image plane of a series lies: classic single-frame slices and enhanced frames alike.

A classic CT/MR series stores one slice per instance, its geometry in the top-level Image
Position/Orientation (Patient), Pixel Spacing and Rescale Slope/Intercept. An enhanced object
(Enhanced CT/MR Image Storage, or Legacy Converted Enhanced) stores many frames in one instance
and their geometry in functional groups (PS3.3 C.7.6.16): each frame's Plane Position, Plane
Orientation, Pixel Measures and Pixel Value Transformation sit in its item of the Per-frame
Functional Groups Sequence, or, when all frames share them, once in the Shared Functional Groups
Sequence. Both become ``Plane`` records, so one sorting and checking rule builds every volume.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pydicom.dataset import Dataset

from inference.dicom.decode import PixelDataError, frame_count

_PER_FRAME = "PerFrameFunctionalGroupsSequence"
_SHARED = "SharedFunctionalGroupsSequence"


class GeometryError(PixelDataError):
    """The slices of a series do not form one regular volume."""


@dataclass(frozen=True, eq=False)
class Plane:
    """One slice of a volume: a classic instance, or one frame of an enhanced instance.

    Attributes
    ----------
    source
        The instance holding the pixels.
    frame
        The frame's index in ``source`` (0-based), or None for a classic single-frame slice.
    rescale
        ``(slope, intercept)`` from the frame's Pixel Value Transformation; None for a classic
        slice, whose own Modality LUT (or Rescale Slope/Intercept) applies.
    """

    source: Dataset
    frame: int | None
    position: np.ndarray
    orientation: np.ndarray
    pixel_spacing: tuple[float, float]
    rescale: tuple[float, float] | None

    @property
    def label(self) -> str:
        """Name the slice in error messages: the SOP Instance UID, and the frame number."""
        uid = str(self.source.get("SOPInstanceUID", "?"))
        return uid if self.frame is None else f"{uid} frame {self.frame + 1}"


def is_enhanced(ds: Dataset) -> bool:
    """Return whether ``ds`` keeps its image geometry in functional groups."""
    return _PER_FRAME in ds or _SHARED in ds


def planes_of(ds: Dataset) -> list[Plane]:
    """Return the planes of one instance: one for a classic slice, one per enhanced frame.

    Raises
    ------
    GeometryError
        If a plane lacks its position, orientation or pixel spacing, the functional groups do
        not match the Number of Frames, or a multi-frame object has no functional groups.
    """
    if is_enhanced(ds):
        return _enhanced_planes(ds)
    frames = frame_count(ds)
    if frames != 1:
        raise GeometryError(
            f"Instance {ds.get('SOPInstanceUID', '?')} holds {frames} frames but no functional "
            "groups (Per-frame / Shared Functional Groups Sequence) placing each frame: its "
            "frames cannot be put in space."
        )
    label = str(ds.get("SOPInstanceUID", "?"))
    return [
        Plane(
            source=ds,
            frame=None,
            position=_vector(ds, "ImagePositionPatient", 3, label),
            orientation=_vector(ds, "ImageOrientationPatient", 6, label),
            pixel_spacing=_spacing(_vector(ds, "PixelSpacing", 2, label)),
            rescale=None,
        )
    ]


def _enhanced_planes(ds: Dataset) -> list[Plane]:
    count = frame_count(ds)
    per_frame = list(ds.get(_PER_FRAME) or [])
    shared_items = list(ds.get(_SHARED) or [])
    if len(per_frame) != count:
        raise GeometryError(
            f"Instance {ds.get('SOPInstanceUID', '?')} holds {count} frames but "
            f"{len(per_frame)} Per-frame Functional Groups items: one item per frame is needed."
        )
    shared = shared_items[0] if shared_items else Dataset()
    uid = str(ds.get("SOPInstanceUID", "?"))
    planes = []
    for index, groups in enumerate(per_frame):
        label = f"{uid} frame {index + 1}"
        position = _group(groups, shared, "PlanePositionSequence", label, "ImagePositionPatient")
        orientation = _group(
            groups, shared, "PlaneOrientationSequence", label, "ImageOrientationPatient"
        )
        measures = _group(groups, shared, "PixelMeasuresSequence", label, "PixelSpacing")
        planes.append(
            Plane(
                source=ds,
                frame=index,
                position=_vector(position, "ImagePositionPatient", 3, label),
                orientation=_vector(orientation, "ImageOrientationPatient", 6, label),
                pixel_spacing=_spacing(_vector(measures, "PixelSpacing", 2, label)),
                rescale=_rescale(groups, shared, ds, label),
            )
        )
    return planes


def _item(groups: Dataset, shared: Dataset, sequence: str) -> Dataset | None:
    """Return the frame's item of a functional group macro; per-frame overrides shared."""
    for holder in (groups, shared):
        items = holder.get(sequence)
        if items:
            item: Dataset = items[0]
            return item
    return None


def _group(groups: Dataset, shared: Dataset, sequence: str, label: str, keyword: str) -> Dataset:
    item = _item(groups, shared, sequence)
    if item is None:
        raise GeometryError(
            f"Slice {label} has no {sequence} ({keyword}) in its per-frame or shared "
            "functional groups."
        )
    return item


def _rescale(groups: Dataset, shared: Dataset, ds: Dataset, label: str) -> tuple[float, float]:
    """Return the frame's ``(slope, intercept)``; identity when the object has none (MR)."""
    item = _item(groups, shared, "PixelValueTransformationSequence") or ds
    try:
        slope = float(item.get("RescaleSlope", 1.0) or 1.0)
        intercept = float(item.get("RescaleIntercept", 0.0) or 0.0)
    except (TypeError, ValueError) as exc:
        raise GeometryError(f"Slice {label} has a non-numeric Rescale Slope/Intercept.") from exc
    return slope, intercept


def _vector(ds: Dataset, keyword: str, length: int, label: str) -> np.ndarray:
    value = ds.get(keyword)
    if value is None or len(value) != length:
        raise GeometryError(f"Slice {label} has no valid {keyword} ({length} numbers needed).")
    try:
        return np.array([float(v) for v in value], dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise GeometryError(f"Slice {label} has a non-numeric {keyword}: {value!r}.") from exc


def _spacing(values: np.ndarray) -> tuple[float, float]:
    return float(values[0]), float(values[1])
