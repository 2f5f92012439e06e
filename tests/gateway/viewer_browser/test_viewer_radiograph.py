"""A radiograph's image-quality result in OHIF: the SR's collimated field and the AI GSPS.

Over HTTP the gateway's DICOMweb serves both AI result series (SR and PR) to the study's
readers; in Chromium, opening the SR shows its measurement drawn on the radiograph.
The screenshots are written to ``$RADBRIDGE_VIEWER_SHOTS`` (default: the system temp folder).
"""

from __future__ import annotations

import httpx
import pytest

from services.contracts.ai_results import AI_RESULT_SERIES_DESCRIPTION
from tests.gateway.upload.conftest import token_for
from tests.gateway.viewer_browser.radiograph_world import RadiographWorld, radiograph_world

pytestmark = pytest.mark.integration
__all__ = ["radiograph_world"]  # the fixture


def _get(world: RadiographWorld, path: str) -> httpx.Response:
    return httpx.get(
        f"{world.url}/dicomweb/studies/{world.study_uid}{path}",
        headers={"Authorization": f"Bearer {token_for(world.mine, 'radiologist')}"},
    )


def test_readers_get_the_sr_with_the_field_and_the_gsps_series(
    radiograph_world: RadiographWorld,
) -> None:
    world = radiograph_world
    found = _get(world, "/series")
    by_uid = {s["0020000E"]["Value"][0]: s for s in found.json()}

    assert found.status_code == 200
    assert set(by_uid) == {world.dx_series_uid, world.sr_series_uid, world.pr_series_uid}
    for uid, modality in ((world.sr_series_uid, "SR"), (world.pr_series_uid, "PR")):
        assert by_uid[uid]["00080060"]["Value"] == [modality]
        assert by_uid[uid]["0008103E"]["Value"] == [AI_RESULT_SERIES_DESCRIPTION]
        metadata = _get(world, f"/series/{uid}/metadata")
        assert metadata.status_code == 200
        assert metadata.json()[0]["00080060"]["Value"] == [modality]
    instances = _get(world, f"/series/{world.pr_series_uid}/instances")
    assert instances.status_code == 200 and len(instances.json()) == 1
