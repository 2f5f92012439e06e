"""Clinic staff send a study folder from the upload page (Uppy + tus) in a real Chromium."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, Route, expect

from tests.fixtures.consortium import PASSWORD, Consortium
from tests.fixtures.databases import Database
from tests.fixtures.orthanc import OrthancHandle
from tests.gateway.upload.conftest import drain, make_study, registered, token_for
from tests.gateway.upload_browser.page_actions import (
    batch_of_page,
    send_folder,
    send_zip_above,
    sign_in,
    signed_in,
)

pytestmark = pytest.mark.integration
FILES = 4


class HoldLastChunks:
    """Let the first PATCHes through and hold the rest, as a link that stalls mid-study."""

    def __init__(self, let_through: int) -> None:
        self.let_through = let_through
        self.patches = 0
        self.heads = 0
        self.held: list[Route] = []
        self.holding = True

    def __call__(self, route: Route) -> None:
        method = route.request.method
        self.heads += method == "HEAD"
        if method == "PATCH" and self.holding:
            self.patches += 1
            if self.patches > self.let_through:
                self.held.append(route)
                return
        route.continue_()

    def drop(self) -> None:
        """Cut the held requests' connections; the page's retries go through."""
        self.holding = False
        for route in self.held:
            route.abort("connectionreset")


def wait_for_received(page: Page, url: str, token: str, batch: str, count: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        response = httpx.get(
            f"{url}/uploads/batches/{batch}", headers={"Authorization": f"Bearer {token}"}
        )
        if response.status_code == 200 and response.json()["received_files"] == count:
            return
        page.wait_for_timeout(200)  # lets Playwright serve the page's requests meanwhile
    raise AssertionError(f"batch {batch} did not reach {count} stored files")


class TestUploadPage:
    def test_a_folder_is_one_batch_visible_only_once_whole_and_survives_a_dropped_link(
        self,
        page: Page,
        gateway_url: str,
        consortium: Consortium,
        orthanc: OrthancHandle,
        use_database: Database,
        tmp_path: Path,
    ) -> None:
        study_uid, _ = make_study(tmp_path / "CT-study", FILES)
        hold = HoldLastChunks(let_through=FILES - 1)
        page.route("**/uploads/**", hold)
        sign_in(page, gateway_url, consortium.username("staff_a"), PASSWORD)
        signed_in(page)

        send_folder(page, tmp_path / "CT-study", FILES)
        batch = batch_of_page(page)
        names = page.evaluate("window.radbridgeUppy.getFiles().map(f => f.meta.filename)")
        assert sorted(names) == [f"CT-study/IM{n:04d}.dcm" for n in range(FILES)]

        token = token_for(consortium, "staff_a")
        wait_for_received(page, gateway_url, token, batch, FILES - 1)
        for _ in range(100):  # the last file starts once a slot of Uppy's limit is free
            if hold.held:
                break
            page.wait_for_timeout(100)
        assert len(hold.held) == 1  # the last file's chunk is stalled on the wire
        expect(page.locator("#progress")).to_contain_text(f"{FILES - 1} of {FILES} files sent")
        # Orthanc holds 3 of 4 instances and calls the study stable; readers still see nothing.
        assert drain(orthanc, use_database, study_uid, timeout=3) == []

        hold.drop()
        expect(page.locator("#batches")).to_contain_text(
            f"Complete: {FILES} files, 1 study sent", timeout=60_000
        )
        expect(page.locator("#progress")).to_contain_text(f"{FILES} of {FILES} files sent (100%)")
        assert hold.heads >= 1  # the retry asked the gateway where to resume
        (study,) = drain(orthanc, use_database, study_uid, timeout=20)
        assert study.organization_id == consortium.clinic_a.id
        assert len(registered(use_database, study_uid)) == 1
        assert study.orthanc_id is not None
        assert orthanc.client.get_study(study.orthanc_id).series[0].instance_count == FILES
        # Finished uploads leave nothing to resume in the browser's storage.
        stored = page.evaluate("Object.keys(localStorage)")
        assert [k for k in stored if k.startswith(("tus::", "radbridge-upload-batch:"))] == []

    def test_a_file_above_the_limit_shows_the_413_message(
        self,
        small_limit: int,
        page: Page,
        gateway_url: str,
        consortium: Consortium,
        tmp_path: Path,
    ) -> None:
        sign_in(page, gateway_url, consortium.username("staff_a"), PASSWORD)
        signed_in(page)

        send_zip_above(page, tmp_path, small_limit)

        errors = page.locator("#errors")
        expect(errors).to_contain_text("big-study.zip: Too large (413)")
        expect(errors).to_contain_text(f"uploads are limited to {small_limit} bytes")
        expect(page.locator("#batches")).to_be_empty()

    def test_a_wrong_password_is_a_clear_error(
        self, page: Page, gateway_url: str, consortium: Consortium
    ) -> None:
        sign_in(page, gateway_url, consortium.username("staff_a"), "not the password")

        expect(page.locator("#sign-in-error")).to_have_text(
            "The username or password is wrong, or the account is disabled."
        )
        expect(page.locator("#uploader")).to_be_hidden()

    def test_a_reader_cannot_sign_in_to_upload(
        self, page: Page, gateway_url: str, consortium: Consortium
    ) -> None:
        sign_in(page, gateway_url, consortium.username("radiologist"), PASSWORD)

        expect(page.locator("#sign-in-error")).to_contain_text("This account cannot send studies")
        expect(page.locator("#uploader")).to_be_hidden()
