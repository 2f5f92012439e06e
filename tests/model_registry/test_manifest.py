"""Manifest validation: the shipped manifest is valid; typos and mistakes give clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest
import tomli_w
import yaml

from inference.pipelines import image_quality
from inference.registry.config_pbtxt import render
from services.model_registry.manifest import ManifestError, load_manifest, parse_manifest
from tests.model_registry.manifests import SHIPPED, chest_manifest, shipped_data

pytestmark = pytest.mark.unit


def problems(data: object) -> list[str]:
    with pytest.raises(ManifestError) as caught:
        parse_manifest(data)
    return caught.value.problems


class TestShippedManifest:
    def test_image_quality_manifest_is_valid_and_matches_the_pipeline(self):
        manifest = load_manifest(SHIPPED)
        assert manifest.key == (image_quality.MODEL_NAME, image_quality.MODEL_VERSION)
        assert manifest.input.tensor == image_quality.INPUT_NAME
        assert tuple(manifest.input.shape) == image_quality.INPUT_SHAPE
        assert [o.tensor for o in manifest.outputs] == image_quality.OUTPUT_NAMES
        assert manifest.triton.max_batch_size == image_quality.MAX_BATCH_SIZE
        labels = {o.tensor: tuple(o.labels) for o in manifest.outputs}
        assert labels["MEASURES"] == image_quality.MEASURE_NAMES
        assert labels["PENALTIES"] == image_quality.PENALTY_NAMES

    def test_notice_says_research_only(self):
        notice = load_manifest(SHIPPED).regulatory.notice
        assert notice["en"] == "AI-assisted, for reference (research use only)"
        assert notice["zh-CN"].startswith("AI辅助，仅供参考")

    def test_generated_config_carries_the_triton_settings(self):
        config = render(load_manifest(SHIPPED), ["1"])
        assert 'name: "image_quality"' in config
        assert "max_batch_size: 8" in config
        assert "preferred_batch_size: [ 4, 8 ]" in config
        assert "dims: [ 256, 256 ]" in config
        assert "kind: KIND_CPU" in config
        assert "versions: [ 1 ]" in config

    def test_toml_manifest_is_read_too(self, tmp_path: Path):
        path = tmp_path / "manifest.toml"
        path.write_bytes(tomli_w.dumps(shipped_data()).encode())
        assert load_manifest(path).name == "image_quality"


class TestTypos:
    def test_unknown_key_is_named_with_a_suggestion(self):
        data = shipped_data()
        data["match"]["modality"] = data["match"].pop("modalities")
        found = problems(data)
        assert "match.modality: unknown key; did you mean 'modalities'?" in found
        assert "match.modalities: required, but missing" in found

    def test_unknown_top_level_key(self):
        data = shipped_data() | {"vendr": "x"}
        assert any(
            p.startswith("vendr: unknown key; did you mean 'vendor'") for p in problems(data)
        )

    def test_bad_severity_lists_the_allowed_values(self):
        data = shipped_data()
        data["findings"][0]["severity"] = "severe"
        [problem] = problems(data)
        assert problem.startswith("findings[0].severity:")
        assert "'critical'" in problem
        assert "'severe'" in problem

    def test_every_problem_is_listed_at_once(self):
        data = shipped_data()
        data["triton"]["max_batch"] = 8
        data["input"]["datatype"] = "FLOAT"
        assert len(problems(data)) == 2


class TestRules:
    def test_certified_needs_a_registration_number(self):
        data = chest_manifest()
        del data["regulatory"]["nmpa_registration"]
        [problem] = problems(data)
        assert "nmpa_registration" in problem

    def test_certified_notice_carries_the_registration_number(self):
        notice = parse_manifest(chest_manifest()).regulatory.notice
        assert notice["en"] == "AI-assisted, for reference (NMPA 国械注准20233210001)"
        assert "注册证号 国械注准20233210001" in notice["zh-CN"]

    def test_research_model_cannot_carry_a_registration_number(self):
        data = shipped_data()
        data["regulatory"]["nmpa_registration"] = "国械注准20233210001"
        assert "only allowed with status: certified" in problems(data)[0]

    def test_finding_must_read_a_declared_output(self):
        data = shipped_data()
        data["findings"][0]["output"] = "SCORE"
        assert "not among outputs" in problems(data)[0]

    def test_snomed_code_must_be_digits(self):
        data = shipped_data()
        data["findings"][0]["coding"]["code"] = "RID123"
        assert "SNOMED CT concept id is digits only" in problems(data)[0]

    def test_preferred_batch_cannot_exceed_max_batch(self):
        data = shipped_data()
        data["triton"]["max_batch_size"] = 4
        assert "exceeds max_batch_size" in problems(data)[0]

    def test_duplicate_finding_codes(self):
        data = shipped_data()
        data["findings"][1]["code"] = data["findings"][0]["code"]
        assert "listed twice" in problems(data)[0]


class TestFiles:
    def test_missing_file(self, tmp_path: Path):
        with pytest.raises(ManifestError, match="cannot read the file"):
            load_manifest(tmp_path / "nope.yaml")

    def test_broken_yaml(self, tmp_path: Path):
        path = tmp_path / "m.yaml"
        path.write_text("name: [unclosed\n", encoding="utf-8")
        with pytest.raises(ManifestError, match="not valid YAML"):
            load_manifest(path)

    def test_yaml_that_is_not_a_mapping(self, tmp_path: Path):
        path = tmp_path / "m.yaml"
        path.write_text(yaml.safe_dump(["a", "b"]), encoding="utf-8")
        with pytest.raises(ManifestError):
            load_manifest(path)
