"""Every chunk the page sends carries its SHA-256; a chunk damaged on the way is refused (460)."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import pytest
from playwright.sync_api import Page, Route, expect

from tests.fixtures.consortium import PASSWORD, Consortium
from tests.gateway.upload.conftest import make_study
from tests.gateway.upload_browser.page_actions import send_folder, sign_in, signed_in

pytestmark = pytest.mark.integration


class DamageChunks:
    """Flip one byte of the first ``times`` PATCH bodies, keeping their Upload-Checksum."""

    def __init__(self, times: int) -> None:
        self.times = times
        self.checksums: list[str] = []
        self.bodies: list[bytes] = []

    def __call__(self, route: Route) -> None:
        request = route.request
        if request.method != "PATCH":
            route.continue_()
            return
        body = request.post_data_buffer or b""
        self.bodies.append(body)
        self.checksums.append(request.headers.get("upload-checksum", ""))
        if len(self.bodies) <= self.times:
            route.continue_(post_data=bytes([body[0] ^ 0xFF]) + body[1:])
        else:
            route.continue_()


def sha256_header(body: bytes) -> str:
    return "sha256 " + base64.b64encode(hashlib.sha256(body).digest()).decode()


def test_a_damaged_chunk_is_sent_again_and_the_file_arrives(
    page: Page, gateway_url: str, consortium: Consortium, tmp_path: Path
) -> None:
    make_study(tmp_path / "study", 1)
    wire = DamageChunks(times=1)
    page.route("**/uploads/**", wire)
    sign_in(page, gateway_url, consortium.username("staff_a"), PASSWORD)
    signed_in(page)

    send_folder(page, tmp_path / "study", 1)

    expect(page.locator("#batches")).to_contain_text("Complete: 1 file, 1 study sent")
    assert len(wire.bodies) == 2 and wire.bodies[0] == wire.bodies[1]
    assert wire.checksums == [sha256_header(wire.bodies[0])] * 2
    expect(page.locator("#errors")).to_be_empty()


def test_a_chunk_damaged_every_time_shows_the_460_message(
    page: Page, gateway_url: str, consortium: Consortium, tmp_path: Path
) -> None:
    make_study(tmp_path / "study", 1)
    page.route("**/uploads/**", DamageChunks(times=100))
    sign_in(page, gateway_url, consortium.username("staff_a"), PASSWORD)
    signed_in(page)

    send_folder(page, tmp_path / "study", 1)

    expect(page.locator("#errors")).to_contain_text(
        "IM0000.dcm: The file was damaged on the way (checksum mismatch, 460)"
    )
    expect(page.locator("#batches")).to_be_empty()
