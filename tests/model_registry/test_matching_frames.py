"""Slices are image planes: an enhanced series' frames count like classic instances (pure rules)."""

from __future__ import annotations

import pytest

from services.domain.model_matching import MatchRule, SeriesView, choose_series, mismatch

pytestmark = pytest.mark.unit

THIN_AXIAL_CT = MatchRule(
    modalities=("CT",), orientation="axial", min_slices=20, series_choice="thinnest"
)


def classic(uid: str, instances: int, thickness: float) -> SeriesView:
    return SeriesView(uid, "CT", instances, orientation="axial", slice_thickness=thickness)


def enhanced(uid: str, frames: int, thickness: float, files: int = 1) -> SeriesView:
    return SeriesView(
        uid, "CT", files, orientation="axial", slice_thickness=thickness, slice_count=frames
    )


def test_a_one_file_series_of_120_frames_has_enough_slices():
    assert mismatch(THIN_AXIAL_CT, enhanced("e", 120, 1.0)) is None
    assert mismatch(THIN_AXIAL_CT, enhanced("few", 12, 1.0)) == "12 slice(s)"
    assert mismatch(THIN_AXIAL_CT, classic("c", 12, 1.0)) == "12 slice(s)"


def test_max_slices_counts_frames_too():
    rule = MatchRule(modalities=("CT",), max_slices=100)
    assert mismatch(rule, enhanced("e", 120, 1.0)) == "120 slice(s)"
    assert mismatch(rule, classic("c", 100, 1.0)) is None


@pytest.mark.parametrize(
    ("series", "expected"),
    [
        ([classic("classic-5mm", 60, 5.0), enhanced("enhanced-1mm", 300, 1.0)], "enhanced-1mm"),
        ([enhanced("enhanced-5mm", 60, 5.0), classic("classic-1mm", 300, 1.0)], "classic-1mm"),
        # The thinnest enhanced series has too few frames: the next thinnest is taken.
        (
            [enhanced("thin-few", 10, 0.5), classic("c-2mm", 150, 2.0), enhanced("e-3mm", 99, 3.0)],
            "c-2mm",
        ),
    ],
)
def test_thinnest_choice_over_mixed_classic_and_enhanced(
    series: list[SeriesView], expected: str
) -> None:
    chosen = choose_series(THIN_AXIAL_CT, series)
    assert chosen is not None and chosen.series_instance_uid == expected


def test_equal_thickness_prefers_more_planes_whatever_the_file_count():
    series = [classic("classic-80", 80, 1.0), enhanced("enhanced-200", 200, 1.0, files=2)]
    chosen = choose_series(THIN_AXIAL_CT, series)
    assert chosen is not None and chosen.series_instance_uid == "enhanced-200"
    most = choose_series(MatchRule(modalities=("CT",)), series)
    assert most is not None and most.series_instance_uid == "enhanced-200"
