"""The lung-nodule doubling-time model on a real Triton, through the pipeline's finding.

Expected values are worked by hand from Schwartz's formula VDT = t * ln 2 / ln(V2 / V1).
"""

from __future__ import annotations

import math
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from inference.pipelines import nodule_vdt
from inference.pipelines.nodule_vdt import MeasurementError, NoduleMeasurement
from inference.triton.grpc_client import GrpcInferenceClient
from inference.triton.port import ModelContractError
from services.model_registry.manifest import load_manifest

pytestmark = pytest.mark.integration

MODELS = Path(nodule_vdt.__file__).resolve().parents[1] / "models"


def sphere(diameter: float) -> float:
    return math.pi / 6 * diameter**3


class TestDoublingTime:
    def test_volume_doubling_in_200_days_is_malignant_range(
        self, triton_client: GrpcInferenceClient
    ):
        prior = NoduleMeasurement("1.2.3.1", date(2025, 1, 10), volume_mm3=500.0)
        current = NoduleMeasurement("1.2.3.2", date(2025, 7, 29), volume_mm3=1000.0)  # 200 days

        result = nodule_vdt.run(triton_client, [current, prior])  # any order
        finding = nodule_vdt.postprocess([current, prior], result, nodule="RUL-1")

        assert result.vdt_days == pytest.approx(200.0, rel=1e-4)
        assert result.fast_growth == pytest.approx(1.0)
        assert finding.code == "lung-nodule-vdt-malignant-range"
        assert finding.severity == "significant"
        assert "200 days" in finding.label_en
        assert "200 天" in finding.label_zh
        inputs = finding.detail["inputs"]
        assert isinstance(inputs, list)
        assert [i["study_date"] for i in inputs] == ["2025-01-10", "2025-07-29"]
        assert [i["volume_used_mm3"] for i in inputs] == [500.0, 1000.0]

    def test_diameters_give_ellipsoid_volumes_and_three_studies_give_a_recent_vdt(
        self, triton_client: GrpcInferenceClient
    ):
        studies = [
            NoduleMeasurement("a", date(2024, 1, 1), diameters_mm=(6.0,)),  # sphere
            NoduleMeasurement("b", date(2024, 7, 1), diameters_mm=(7.0, 6.0)),  # third = 6.5
            NoduleMeasurement("c", date(2025, 1, 1), diameters_mm=(8.0, 7.0, 6.0)),
        ]
        result = nodule_vdt.run(triton_client, studies)

        v1, v2 = sphere(6.0), math.pi / 6 * 7 * 6 * 6.5
        v3 = math.pi / 6 * 8 * 7 * 6
        assert result.volumes_mm3 == pytest.approx((v1, v2, v3), rel=1e-5)
        assert result.vdt_days == pytest.approx(366 * math.log(2) / math.log(v3 / v1), rel=1e-4)
        assert result.recent_vdt_days == pytest.approx(
            184 * math.log(2) / math.log(v3 / v2), rel=1e-4
        )
        # 366 days, +56 % volume: VDT ~ 570 days, just outside the malignant range
        assert 400 < (result.vdt_days or 0) < 600
        assert 0 < result.fast_growth < 0.2
        finding = nodule_vdt.postprocess(studies, result, nodule="LLL-2")
        assert finding.code == "lung-nodule-vdt-not-malignant-range"

    def test_unchanged_and_shrinking_nodules_never_score(self, triton_client: GrpcInferenceClient):
        same = [
            NoduleMeasurement("a", date(2024, 1, 1), volume_mm3=300.0),
            NoduleMeasurement("b", date(2024, 4, 1), volume_mm3=300.0),
        ]
        unchanged = nodule_vdt.run(triton_client, same)
        assert unchanged.vdt_days is None  # infinite
        assert unchanged.fast_growth == 0.0
        assert "no volume change" in nodule_vdt.postprocess(same, unchanged, nodule="x").label_en

        shrinking = nodule_vdt.run(
            triton_client,
            [
                NoduleMeasurement("a", date(2024, 1, 1), volume_mm3=400.0),
                NoduleMeasurement("b", date(2024, 3, 1), volume_mm3=200.0),
            ],
        )
        assert shrinking.vdt_days == pytest.approx(-60.0, rel=1e-4)
        assert shrinking.fast_growth == 0.0


class TestBadInput:
    def test_one_study_is_refused_before_triton(self):
        with pytest.raises(MeasurementError, match="2 or more studies"):
            nodule_vdt.measurement_tensor([NoduleMeasurement("a", date(2024, 1, 1), (5.0,))])

    def test_same_day_twice_is_refused(self):
        day = date(2024, 1, 1)
        with pytest.raises(MeasurementError, match="share a study date"):
            nodule_vdt.measurement_tensor(
                [NoduleMeasurement("a", day, (5.0,)), NoduleMeasurement("b", day, (6.0,))]
            )

    def test_unusable_rows_get_nan_and_never_fail_the_batch(
        self, triton_client: GrpcInferenceClient
    ):
        tensor = np.array(
            [
                [[0, 5, 0, 0, 0], [90, 0, 0, 0, 0]],  # second time point not measured
                [[0, 0, 0, 0, 500], [100, 0, 0, 0, 1000]],  # fine: 100 days to double
                [[0, 5, 0, 0, 0], [0, 6, 0, 0, 0]],  # same day twice
            ],
            dtype=np.float32,
        )
        answer = triton_client.infer(
            "nodule_vdt", "1", {"MEASUREMENTS": tensor}, ["VDT_DAYS", "GROWTH"]
        )
        vdt, growth = answer["VDT_DAYS"], answer["GROWTH"]
        assert np.isnan(vdt[[0, 2]]).all()
        assert (growth[[0, 2]] == 0).all()
        assert vdt[1, 0] == pytest.approx(100.0, rel=1e-4)

    def test_the_registry_check_probe_of_zeros_is_answered(
        self, triton_client: GrpcInferenceClient
    ):
        zeros = np.zeros((1, 1, 5), dtype=np.float32)
        answer = triton_client.infer(
            "nodule_vdt", "1", {"MEASUREMENTS": zeros}, nodule_vdt.OUTPUT_NAMES
        )
        assert answer["VDT_DAYS"].shape == (1, 2)
        assert np.isnan(answer["VDT_DAYS"]).all()

    def test_wrong_tensor_layout_is_refused(self, triton_client: GrpcInferenceClient):
        wrong = np.zeros((1, 2, 4), dtype=np.float32)
        with pytest.raises(ModelContractError):
            triton_client.infer("nodule_vdt", "1", {"MEASUREMENTS": wrong}, ["VDT_DAYS"])


def test_manifest_validates_and_names_the_served_outputs():
    manifest = load_manifest(MODELS / "nodule_vdt" / "manifest.yaml")
    assert [o.tensor for o in manifest.outputs] == nodule_vdt.OUTPUT_NAMES
    assert manifest.input.tensor == nodule_vdt.INPUT_NAME
