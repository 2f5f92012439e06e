"""A radiograph's image-quality result in OHIF: the SR's collimated field and the AI GSPS.

Over HTTP the gateway's DICOMweb serves both AI result series (SR and PR) to the study's
readers; in Chromium, opening the SR shows its measurement drawn on the radiograph.
The screenshots are written to ``$RADBRIDGE_VIEWER_SHOTS`` (default: the system temp folder).
"""

from __future__ import annotations

import re

import httpx
import numpy as np
import pytest
from playwright.sync_api import Locator, expect

from services.contracts.ai_results import AI_RESULT_SERIES_DESCRIPTION
from tests.gateway.upload.conftest import token_for
from tests.gateway.viewer_browser.conftest import ViewerPage
from tests.gateway.viewer_browser.radiograph_world import SHAPE, RadiographWorld, radiograph_world
from tests.gateway.viewer_browser.test_viewer import (
    LOAD_TIMEOUT_MS,
    SHOTS,
    confirm_notice,
    contrast,
    sign_in_and_open,
)

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


def screen_fit(screen: np.ndarray, image: np.ndarray) -> tuple[float, float]:
    """Fit ``screen = scale * image + offset`` (one scale, no rotation); return (scale, worst miss).

    OHIF shows the whole radiograph scaled to the viewport, so a region drawn where the SR puts
    it maps onto the image's pixel polygon by one such transform, to within a pixel or so.
    """
    rows = []
    for (x, y), (u, v) in zip(image, screen, strict=True):
        rows += [([x, 1.0, 0.0], u), ([y, 0.0, 1.0], v)]
    a = np.array([r[0] for r in rows])
    b = np.array([r[1] for r in rows])
    solution, *_ = np.linalg.lstsq(a, b, rcond=None)
    return float(solution[0]), float(np.abs(a @ solution - b).max())


def assert_field_drawn(pane: Locator, world: RadiographWorld) -> None:
    """Check OHIF drew the SR's region as one outline where the field is, with its measures."""
    labels = pane.locator("svg.svg-layer text")
    expect(labels).to_contain_text("Exposed field area share: 52.00 %", timeout=LOAD_TIMEOUT_MS)
    expect(labels).to_contain_text(f"Exposed field tilt: {world.field.tilt_deg:.2f} deg")
    expect(labels).to_contain_text("Retake score: 0.20 1")  # the whole-image group, merged
    outline = pane.locator("svg.svg-layer polyline")
    expect(outline).to_have_count(1)
    points = outline.get_attribute("points") or ""
    screen = np.array(re.findall(r"-?[0-9.]+", points), dtype=float).reshape(-1, 2)  # "x, y x, y"
    corners = np.array(world.field.corners) * np.array([SHAPE[1], SHAPE[0]])
    scale, miss = screen_fit(screen, np.vstack([corners, corners[:1]]))
    assert scale > 0.5 and miss < 2.0, (points, scale, miss)  # drawn where the field is


def test_opening_the_sr_draws_the_collimated_field_with_its_measurements(
    radiograph_world: RadiographWorld, viewer_page: ViewerPage
) -> None:
    world, page = radiograph_world, viewer_page.page
    boundary: list[str] = []  # OHIF logs a crash its error boundary caught at debug level only
    page.on("console", lambda m: boundary.append(m.text) if "Error Boundary" in m.text else None)
    sign_in_and_open(page, world, world.mine.username("radiologist"))

    modalities = page.locator('[data-cy="series-modality-label"]')
    expect(modalities).to_have_count(3, timeout=LOAD_TIMEOUT_MS)  # the DX, the AI SR and GSPS
    assert sorted(modalities.all_inner_texts()) == ["DX", "PR", "SR"]
    results = page.locator('[data-cy="study-browser-thumbnail-no-image"]')
    for modality in ("SR", "PR"):
        expect(results.filter(has_text=modality)).to_contain_text(AI_RESULT_SERIES_DESCRIPTION)
    pane = page.locator('[data-cy="viewport-pane"]').first
    # The radiograph is shown (its image and metadata loaded) before the SR is opened on it.
    position = pane.locator('[data-cy="viewport-overlay-bottom-right"]')
    expect(position).to_contain_text("1/1", timeout=LOAD_TIMEOUT_MS)
    confirm_notice(page)

    results.filter(has_text="SR").dblclick()
    expect(pane.locator('[data-cy="ModalityLoadBadge-default"]')).to_have_text("SR")
    expect(pane.locator('[data-cy="viewport-action-arrows"]')).to_be_visible()
    # OHIF 3.13's SR viewport tells its display tool which measurements to draw only after the
    # radiograph may have been painted, and nothing repaints it then: on a busy machine the
    # outline appears only at the next render. "Reset" (the reader's own button) renders it.
    page.locator('[data-cy="Reset-btn"]').click()
    assert_field_drawn(pane, world)

    page.wait_for_timeout(1000)  # let the last frame paint
    image = pane.screenshot()
    (SHOTS / "radbridge-viewer-dx-sr.png").write_bytes(image)
    page.screenshot(path=str(SHOTS / "radbridge-viewer-dx-sr-page.png"))
    assert contrast(image) > 20, "the viewport shows no image"
    assert boundary == []
    assert page.locator('[data-sonner-toast][data-type="error"]').count() == 0
    assert viewer_page.page_errors == []
    assert viewer_page.failed_requests == []
