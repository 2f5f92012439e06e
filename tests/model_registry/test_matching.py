"""Series choice from manifest rules, and the monitoring arithmetic (pure functions)."""

from __future__ import annotations

import pytest
from pydicom import dcmread
from pydicom.data import get_testdata_file

from services.domain.model_matching import (
    MatchRule,
    SeriesView,
    choose_series,
    no_match_reason,
    orientation_of,
)
from services.domain.model_metrics import agreement, mix, percentile, shift, total_variation

pytestmark = pytest.mark.unit

FRONTAL_CHEST = MatchRule(modalities=("CR", "DX"), view_positions=("PA", "AP"))
THIN_AXIAL_CT = MatchRule(
    modalities=("CT",), orientation="axial", min_slices=20, series_choice="thinnest"
)


def xr(uid: str, view: str, count: int = 1) -> SeriesView:
    return SeriesView(uid, "DX", count, body_part="CHEST", view_position=view)


def ct(uid: str, count: int, thickness: float | None, orientation: str = "axial") -> SeriesView:
    return SeriesView(uid, "CT", count, orientation=orientation, slice_thickness=thickness)


class TestChooseSeries:
    def test_frontal_view_is_taken_over_the_lateral(self):
        chosen = choose_series(FRONTAL_CHEST, [xr("lat", "LL", 3), xr("pa", "PA")])
        assert chosen is not None
        assert chosen.series_instance_uid == "pa"

    def test_missing_view_position_does_not_match(self):
        assert choose_series(FRONTAL_CHEST, [xr("x", "")]) is None

    def test_view_is_compared_case_insensitively(self):
        assert choose_series(FRONTAL_CHEST, [xr("x", "pa")]) is not None

    def test_thinnest_axial_series_with_enough_slices(self):
        series = [
            ct("thick", 60, 5.0),
            ct("thin-but-few", 10, 0.625),
            ct("thin", 300, 1.0),
            ct("coronal", 400, 0.5, orientation="coronal"),
        ]
        chosen = choose_series(THIN_AXIAL_CT, series)
        assert chosen is not None
        assert chosen.series_instance_uid == "thin"

    def test_unknown_thickness_comes_last(self):
        chosen = choose_series(THIN_AXIAL_CT, [ct("unknown", 500, None), ct("known", 40, 3.0)])
        assert chosen is not None
        assert chosen.series_instance_uid == "known"

    def test_most_instances_by_default(self):
        rule = MatchRule(modalities=("CT",))
        chosen = choose_series(rule, [ct("a", 5, 1.0), ct("b", 50, 5.0)])
        assert chosen is not None
        assert chosen.series_instance_uid == "b"

    def test_max_slices(self):
        rule = MatchRule(modalities=("CT",), max_slices=10)
        assert choose_series(rule, [ct("a", 50, 1.0)]) is None

    def test_reason_names_what_did_not_fit(self):
        reason = no_match_reason(FRONTAL_CHEST, [xr("lat", "LL"), SeriesView("u", "US", 3)])
        assert reason == "no series fits (modality US; view LL)"

    def test_reason_for_an_empty_study(self):
        assert no_match_reason(FRONTAL_CHEST, []) == "the study has no series"


class TestAgreement:
    def test_counts_and_rates(self):
        compared = ["s1", "s2", "s3", "s4", "s5"]
        a = agreement("pneumothorax", {"s1", "s2"}, {"s1", "s3"}, compared)
        assert (a.true_positive, a.false_positive, a.false_negative, a.true_negative) == (
            1,
            1,
            1,
            2,
        )
        assert a.studies == 5
        assert a.sensitivity == 0.5
        assert a.specificity == pytest.approx(2 / 3, abs=1e-4)
        assert a.ppv == 0.5

    def test_undefined_rates_are_none(self):
        a = agreement("x", set(), set(), ["s1"])
        assert a.sensitivity is None
        assert a.ppv is None
        assert a.specificity == 1.0


class TestLatencyAndDrift:
    def test_percentiles_interpolate(self):
        values = [float(v) for v in range(1, 101)]
        assert percentile(values, 50) == 50.5
        assert percentile(values, 95) == 95.05
        assert percentile([], 50) is None

    def test_modality_mix_distance(self):
        before, after = mix(["CR", "CR", "DX", "DX"]), mix(["CR", "CT", "CT", "CT"])
        assert before == {"CR": 0.5, "DX": 0.5}
        assert total_variation(before, after) == 0.75
        assert total_variation(before, before) == 0.0

    def test_pixel_shift_in_baseline_standard_deviations(self):
        moved = shift([0.4, 0.5, 0.6], [0.9, 0.9])
        assert moved.shift_sd is not None
        assert moved.shift_sd > 4
        assert shift([0.4, 0.5, 0.6], [0.5]).shift_sd == 0.0
        assert shift([], [0.5]).shift_sd is None


class TestOrientation:
    @pytest.mark.parametrize(
        ("iop", "plane"),
        [
            ([1, 0, 0, 0, 1, 0], "axial"),
            ([1, 0, 0, 0, 0, -1], "coronal"),
            ([0, 1, 0, 0, 0, -1], "sagittal"),
            ([1, 0, 0, 0, 0.7071, 0.7071], ""),  # 45 degrees: oblique
            ([], ""),
        ],
    )
    def test_plane_from_image_orientation(self, iop: list[float], plane: str):
        assert orientation_of(iop) == plane

    def test_pydicom_ct_small_is_axial(self):
        ds = dcmread(get_testdata_file("CT_small.dcm"))  # type: ignore[arg-type]
        assert orientation_of([float(v) for v in ds.ImageOrientationPatient]) == "axial"
