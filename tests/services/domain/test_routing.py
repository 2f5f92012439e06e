from __future__ import annotations

import pytest

from services.domain.routing import ModelRoute, models_for
from services.kit.settings import CoreSettings, ModelRouteSettings
from services.study.routing import configured_routes

pytestmark = pytest.mark.unit

CHEST = ModelRoute("chest_xray", "2", frozenset({"CR", "DX"}))
HEAD_CT = ModelRoute("ct_head", "1", frozenset({"CT"}))
QUALITY = ModelRoute("image_quality", "1", frozenset({"CR", "DX", "CT", "MR"}))
ROUTES = [CHEST, HEAD_CT, QUALITY]


class TestModelsFor:
    def test_picks_routes_of_the_study_modality(self) -> None:
        assert models_for(["CT"], ROUTES) == [HEAD_CT, QUALITY]

    def test_keeps_configured_order(self) -> None:
        assert models_for(["DX"], [QUALITY, CHEST]) == [QUALITY, CHEST]

    def test_study_modalities_are_case_insensitive(self) -> None:
        assert models_for(["dx"], ROUTES) == [CHEST, QUALITY]

    def test_route_matching_any_of_several_modalities_is_listed_once(self) -> None:
        assert models_for(["CT", "DX", "SR"], ROUTES) == [CHEST, HEAD_CT, QUALITY]

    def test_modality_no_model_applies_to_gives_nothing(self) -> None:
        assert models_for(["US"], ROUTES) == []

    def test_study_without_modality_gives_nothing(self) -> None:
        assert models_for([], ROUTES) == []

    def test_no_routes_gives_nothing(self) -> None:
        assert models_for(["CT"], []) == []


class TestConfiguredRoutes:
    def test_default_image_quality_route_covers_ct_but_not_ultrasound(self) -> None:
        routes = configured_routes(CoreSettings())
        assert [r.name for r in models_for(["CT"], routes)] == ["image_quality"]
        assert models_for(["US"], routes) == []

    def test_configured_modalities_are_upper_cased(self) -> None:
        settings = CoreSettings(
            ai_models=[ModelRouteSettings(name="chest_xray", version="3", modalities=["dx", "cr"])]
        )
        assert configured_routes(settings) == [
            ModelRoute("chest_xray", "3", frozenset({"DX", "CR"}))
        ]
