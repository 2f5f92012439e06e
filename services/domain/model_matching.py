"""Which series of a study a model may take, from its manifest's matching rules (pure rules).

A model certified for specific inputs must never run on anything else, so a fact the rule
needs but the series lacks (no ViewPosition, unknown orientation) does not match.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class SeriesView:
    """What routing knows about one series (from the gateway's facts)."""

    series_instance_uid: str
    modality: str
    instance_count: int
    body_part: str = ""
    sop_class_uid: str = ""
    view_position: str = ""
    orientation: str = ""
    slice_thickness: float | None = None
    # Image planes when they differ from the instance count: the frames of enhanced
    # (multi-frame) CT/MR objects. None: one plane per instance, as in a classic series.
    slice_count: int | None = None

    @property
    def slices(self) -> int:
        """Return how many image planes the series holds (what ``min_slices`` counts)."""
        return self.instance_count if self.slice_count is None else self.slice_count


@dataclass(frozen=True)
class MatchRule:
    """A manifest's ``match`` section; empty tuples mean "any"."""

    modalities: tuple[str, ...]
    body_parts: tuple[str, ...] = ()
    sop_classes: tuple[str, ...] = ()
    view_positions: tuple[str, ...] = ()
    orientation: str | None = None
    min_slices: int = 1
    max_slices: int | None = None
    series_choice: str = "most_instances"  # or "thinnest"


@dataclass(frozen=True)
class JobPlan:
    """One model version to run on one chosen series of a study."""

    name: str
    version: str
    series_instance_uid: str | None
    modality: str = ""
    shadow: bool = False


def _upper(values: Sequence[str]) -> set[str]:
    return {v.strip().upper() for v in values}


def mismatch(rule: MatchRule, series: SeriesView) -> str | None:
    """Return why ``series`` does not fit ``rule`` (a short phrase), or None if it fits."""
    checks: list[tuple[bool, str]] = [
        (series.modality.upper() in _upper(rule.modalities), f"modality {series.modality}"),
        (
            not rule.body_parts or series.body_part.upper() in _upper(rule.body_parts),
            f"body part {series.body_part or '(none)'}",
        ),
        (
            not rule.sop_classes or series.sop_class_uid in rule.sop_classes,
            f"SOP class {series.sop_class_uid or '(unknown)'}",
        ),
        (
            not rule.view_positions or series.view_position.upper() in _upper(rule.view_positions),
            f"view {series.view_position or '(none)'}",
        ),
        (
            rule.orientation is None or series.orientation == rule.orientation,
            f"orientation {series.orientation or '(unknown)'}",
        ),
        (series.slices >= rule.min_slices, f"{series.slices} slice(s)"),
        (rule.max_slices is None or series.slices <= rule.max_slices, f"{series.slices} slice(s)"),
    ]
    for ok, phrase in checks:
        if not ok:
            return phrase
    return None


def _thinnest_key(series: SeriesView) -> tuple[float, int]:
    thickness = series.slice_thickness if series.slice_thickness else float("inf")
    return thickness, -series.slices


def choose_series(rule: MatchRule, series: Sequence[SeriesView]) -> SeriesView | None:
    """Return the series the model takes, or None if none fits.

    ``most_instances``: the largest fitting series; ``thinnest``: the smallest slice
    thickness (unknown thickness last), then the most slices. Sizes count image planes, so a
    one-file enhanced series of 120 frames weighs as much as 120 classic slices. Ties keep
    the given order.
    """
    fitting = [s for s in series if mismatch(rule, s) is None]
    if not fitting:
        return None
    if rule.series_choice == "thinnest":
        return min(fitting, key=_thinnest_key)
    return max(fitting, key=lambda s: s.slices)


def no_match_reason(rule: MatchRule, series: Sequence[SeriesView]) -> str:
    """Explain, for the study's record, why no series fitted ``rule``."""
    if not series:
        return "the study has no series"
    phrases = sorted({mismatch(rule, s) or "" for s in series} - {""})
    return "no series fits (" + "; ".join(phrases) + ")"


def orientation_of(image_orientation_patient: Sequence[float]) -> str:
    """Return "axial", "coronal" or "sagittal" from ImageOrientationPatient, "" if oblique.

    The slice normal (row x column direction cosines) names the plane when it lies within
    about 30 degrees of a patient axis: z -> axial, y -> coronal, x -> sagittal.
    """
    if len(image_orientation_patient) != 6:
        return ""
    rx, ry, rz, cx, cy, cz = (float(v) for v in image_orientation_patient)
    normal = (ry * cz - rz * cy, rz * cx - rx * cz, rx * cy - ry * cx)
    axis = max(range(3), key=lambda i: abs(normal[i]))
    if abs(normal[axis]) < 0.866:  # cos 30 degrees
        return ""
    return ("sagittal", "coronal", "axial")[axis]
