"""The image-quality pipeline's pure parts and the shipped model folder, without a server."""

from __future__ import annotations

import re

import pytest

from inference.models.repository import (
    build_model_repository,
    shipped_manifests,
    shipped_models,
)
from inference.pipelines import image_quality as pipeline
from inference.pipelines.findings import FindingDraft

pytestmark = pytest.mark.unit


def result(retake: float, **penalties: float) -> pipeline.QualityResult:
    return pipeline.QualityResult(
        retake_score=retake,
        measures=dict.fromkeys(pipeline.MEASURE_NAMES, 0.5),
        penalties={name: penalties.get(name, 0.0) for name in pipeline.PENALTY_NAMES},
    )


class TestPostprocess:
    def test_adequate_study(self):
        [finding] = pipeline.postprocess([result(0.1), result(0.2)])
        assert finding.code == "image-quality-adequate"
        assert finding.severity == "normal"
        assert finding.score == pytest.approx(0.8)
        assert finding.detail["worst_image_index"] == 1
        assert len(finding.detail["images"]) == 2  # type: ignore[arg-type]

    def test_one_bad_image_asks_for_a_retake_with_its_reasons(self):
        bad = result(0.9, under_exposure=0.9, low_contrast=0.6, noise=0.2)
        [finding] = pipeline.postprocess([result(0.1), bad])
        assert finding.code == "image-quality-retake"
        assert finding.severity == "significant"
        assert finding.score == pytest.approx(0.9)
        assert finding.detail["reasons"] == ["under_exposure", "low_contrast"]
        assert finding.label_zh

    def test_threshold_is_inclusive(self):
        [finding] = pipeline.postprocess([result(pipeline.RETAKE_THRESHOLD)])
        assert finding.code == "image-quality-retake"

    def test_no_images_no_finding(self):
        assert pipeline.postprocess([]) == []


class TestFindingDraft:
    def test_rejects_unknown_severity(self):
        with pytest.raises(ValueError, match="severity"):
            FindingDraft("x", "x", "x", 0.5, "urgent", {})  # type: ignore[arg-type]

    def test_rejects_score_outside_unit_range(self):
        with pytest.raises(ValueError, match="score"):
            FindingDraft("x", "x", "x", 1.5, "normal", {})


class TestShippedModel:
    def test_manifest_matches_the_pipeline(self):
        [manifest] = [m for m in shipped_manifests() if m.name == pipeline.MODEL_NAME]
        assert manifest.version == pipeline.MODEL_VERSION
        assert manifest.vendor == "RadBridge"
        assert manifest.regulatory_status == "research-only"
        assert {"CR", "DX"} <= set(manifest.modalities)
        assert manifest.output_labels["MEASURES"] == pipeline.MEASURE_NAMES
        assert manifest.output_labels["PENALTIES"] == pipeline.PENALTY_NAMES
        assert list(manifest.output_labels) == pipeline.OUTPUT_NAMES

    def test_triton_config_matches_the_pipeline(self, tmp_path):
        folder = build_model_repository(tmp_path / "repo") / pipeline.MODEL_NAME
        config = (folder / "config.pbtxt").read_text()
        assert f'name: "{pipeline.MODEL_NAME}"' in config
        assert re.search(rf"max_batch_size:\s*{pipeline.MAX_BATCH_SIZE}\b", config)
        assert "dims: [ 256, 256 ]" in config
        assert (folder / pipeline.MODEL_VERSION / "model.py").is_file()

    def test_build_model_repository_is_idempotent(self, tmp_path):
        target = tmp_path / "repo"
        (target / "other_model").mkdir(parents=True)
        build_model_repository(target)
        stale = target / pipeline.MODEL_NAME / pipeline.MODEL_VERSION / "stale.txt"
        stale.write_text("left over from an older build")

        build_model_repository(target)

        names = sorted(path.name for path in target.iterdir())
        served = [m.manifest.name for m in shipped_models() if m.servable]
        assert names == sorted(["other_model", *served])
        assert not stale.exists()
        assert (target / pipeline.MODEL_NAME / "1" / "model.py").is_file()
        assert not list(target.rglob("__pycache__"))
