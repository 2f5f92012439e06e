"""Open a study in the OHIF viewer in Chromium: signed in, through the gateway's DICOMweb only.

The screenshots are written to ``$RADBRIDGE_VIEWER_SHOTS`` (default: the system temp folder).
"""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path
from typing import Protocol

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import Page, expect

from services.contracts.ai_results import AI_RESULT_SERIES_DESCRIPTION
from tests.fixtures.consortium import PASSWORD
from tests.gateway.viewer_browser.conftest import CT_SLICES, ViewerPage, ViewerWorld

pytestmark = pytest.mark.integration
SHOTS = Path(os.environ.get("RADBRIDGE_VIEWER_SHOTS", tempfile.gettempdir()))
LOAD_TIMEOUT_MS = 90_000  # the first load compiles 17 MB of JavaScript on a shared 2-core box


class OpenableStudy(Protocol):
    """What opening a study needs: the served gateway and the study (any viewer world)."""

    url: str
    study_uid: str


def sign_in_and_open(page: Page, world: OpenableStudy, username: str) -> None:
    """Open the study's viewer URL, get sent to sign-in, sign in, and come back to the study."""
    page.goto(f"{world.url}/viewer/viewer?StudyInstanceUIDs={world.study_uid}")
    page.wait_for_url("**/viewer/sign-in?next=*")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"**/viewer/viewer?StudyInstanceUIDs={world.study_uid}")


def contrast(png: bytes) -> float:
    """Return the standard deviation of the grey levels of a screenshot (0 for a blank one)."""
    grey = np.asarray(Image.open(io.BytesIO(png)).convert("L"), dtype=np.float64)
    return float(grey.std())


def confirm_notice(page: Page) -> None:
    """Confirm OHIF's investigational-use notice (shown once per browser profile)."""
    button = page.locator('[data-cy="confirm-and-hide-button"]')
    expect(button).to_be_visible()
    button.click()
    expect(button).to_have_count(0)


def test_a_reader_sees_the_ct_images_and_the_ai_result_series(
    viewer_world: ViewerWorld, viewer_page: ViewerPage
) -> None:
    page = viewer_page.page
    sign_in_and_open(page, viewer_world, viewer_world.mine.username("radiologist"))

    labels = page.locator('[data-cy="series-description-label"]')
    expect(labels.filter(has_text=AI_RESULT_SERIES_DESCRIPTION)).to_have_count(
        1, timeout=LOAD_TIMEOUT_MS
    )
    modalities = page.locator('[data-cy="series-modality-label"]')
    expect(modalities).to_have_count(2)  # the CT and the AI SR; the clinic's forged SR is not
    assert sorted(modalities.all_inner_texts()) == ["CT", "SR"]
    expect(page.locator('[data-cy="study-browser-thumbnail"]')).to_have_count(1)  # CT image
    assert "token=" not in page.url  # handed to OHIF, which removed it from the address bar

    pane = page.locator('[data-cy="viewport-pane"]').first
    expect(pane.locator("canvas").first).to_be_visible(timeout=LOAD_TIMEOUT_MS)
    expect(pane).to_contain_text(f"(1/{CT_SLICES})", timeout=LOAD_TIMEOUT_MS)  # the stack
    confirm_notice(page)
    assert page.get_by_text("Skip all").count() == 0  # no first-visit tour over the images
    page.wait_for_timeout(1000)  # let the last frame paint
    image = pane.screenshot()
    (SHOTS / "radbridge-viewer-ct.png").write_bytes(image)
    page.screenshot(path=str(SHOTS / "radbridge-viewer-page.png"))
    assert contrast(image) > 20, "the viewport shows no image"

    assert page.get_by_text("Error", exact=False).count() == 0
    assert page.locator('[data-sonner-toast][data-type="error"]').count() == 0
    assert viewer_page.page_errors == []
    assert viewer_page.failed_requests == []


def test_a_reader_of_another_consortium_sees_no_study(
    viewer_world: ViewerWorld, viewer_page: ViewerPage
) -> None:
    page = viewer_page.page
    # The "not available" text can show before the study's 404 reaches the recorder (it came
    # after it in one CI run): wait for that answer itself.
    with page.expect_response(
        lambda r: viewer_world.study_uid in r.url and r.status == 404, timeout=LOAD_TIMEOUT_MS
    ):
        sign_in_and_open(page, viewer_world, viewer_world.other.username("radiologist"))

    expect(page.get_by_text("requested studies are not available")).to_be_visible(
        timeout=LOAD_TIMEOUT_MS
    )
    page.screenshot(path=str(SHOTS / "radbridge-viewer-other-tenant.png"))
    study_urls = [r for r in viewer_page.failed_requests if viewer_world.study_uid in r]
    assert study_urls and all(r.startswith("404 ") for r in study_urls)
    assert page.locator('[data-cy="series-description-label"]').count() == 0
    assert page.locator('[data-cy="study-browser-thumbnail"]').count() == 0
    body = page.inner_text("body")
    assert "Wang" not in body and AI_RESULT_SERIES_DESCRIPTION not in body
