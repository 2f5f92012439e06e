"""The upload page in a real browser: Debian's Chromium driven by Playwright, against the gateway
under uvicorn, a real Orthanc and the real databases (fixtures shared with tests/gateway/upload)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, sync_playwright

from services.kit.settings import get_settings
from tests.gateway.upload.conftest import consortium, gateway_url  # noqa: F401 - fixtures

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    """Debian's Chromium; a missing browser fails the test (it is never downloaded).

    Package scope: Playwright's sync API keeps an asyncio loop running in the main thread while
    it is open, which would break ``asyncio.run`` (pyHanko signing) in every later test.
    """
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: install it with `apt-get install chromium` "
            "(or run `bash infra/dev.sh setup`)."
        )
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()


@pytest.fixture
def browser_locale() -> str:
    """The language the browser prefers (the page follows it); a module may override this."""
    return "en-US"


@pytest.fixture
def page(browser: Browser, browser_locale: str) -> Iterator[Page]:
    """A fresh browser context (own localStorage); page errors fail the test."""
    context = browser.new_context(locale=browser_locale)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    def console(message: ConsoleMessage) -> None:
        if message.type == "error" and "Content Security Policy" in message.text:
            errors.append(message.text)

    page.on("console", console)
    yield page
    context.close()
    assert errors == [], f"the page reported errors: {errors}"


@pytest.fixture
def small_limit(monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    """Lower the gateway's upload limit for one test (the settings are re-read)."""
    limit = 50_000
    monkeypatch.setenv("RADBRIDGE_GATEWAY__UPLOAD_MAX_BYTES", str(limit))
    get_settings.cache_clear()
    yield limit
    get_settings.cache_clear()
