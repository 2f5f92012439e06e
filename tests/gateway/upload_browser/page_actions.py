"""What a person does on the upload page, as Playwright steps."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

FOLDER_INPUT = "input[type=file][webkitdirectory]"
FILES_INPUT = "input[type=file]:not([webkitdirectory])"


def sign_in(page: Page, gateway_url: str, username: str, password: str) -> None:
    """Open the page and submit the sign-in form."""
    page.goto(f"{gateway_url}/upload")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")


def signed_in(page: Page) -> None:
    """Wait until the page has swapped the sign-in form for the uploader."""
    expect(page.locator("#uploader")).to_be_visible()
    expect(page.locator("#sign-in")).to_be_hidden()


def send_folder(page: Page, folder: Path, count: int) -> None:
    """Pick a folder in the dashboard and press Upload."""
    page.set_input_files(FOLDER_INPUT, folder)
    expect(page.locator(".uppy-Dashboard-Item")).to_have_count(count)
    page.click(".uppy-StatusBar-actionBtn--upload")


def batch_of_page(page: Page) -> str:
    """Return the batch id the page gave the files it is sending."""
    page.wait_for_function("window.radbridgeUppy.getFiles().every(f => f.meta.batch)")
    batch: str = page.evaluate("window.radbridgeUppy.getFiles()[0].meta.batch")
    return batch


def send_zip_above(page: Page, folder: Path, limit: int) -> None:
    """Pick a "zip" (by its first bytes) one byte over ``limit`` and press Upload."""
    big = folder / "big-study.zip"
    big.write_bytes(b"PK\x03\x04" + b"\0" * limit)
    page.set_input_files(FILES_INPUT, big)
    page.click(".uppy-StatusBar-actionBtn--upload")
