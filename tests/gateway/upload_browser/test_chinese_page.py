"""A clinic whose browser prefers Chinese gets the upload page, and Uppy, in Chinese."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.fixtures.consortium import PASSWORD, Consortium
from tests.fixtures.databases import Database
from tests.fixtures.orthanc import OrthancHandle
from tests.gateway.upload.conftest import drain, make_study
from tests.gateway.upload_browser.page_actions import (
    send_folder,
    send_zip_above,
    sign_in,
    signed_in,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def browser_locale() -> str:
    return "zh-CN"  # every page of this module: a browser that prefers Simplified Chinese


def test_the_page_and_uppy_speak_chinese_through_a_whole_upload(
    page: Page,
    gateway_url: str,
    consortium: Consortium,
    orthanc: OrthancHandle,
    use_database: Database,
    tmp_path: Path,
) -> None:
    study_uid, _paths = make_study(tmp_path / "study", 2)
    sign_in(page, gateway_url, consortium.username("staff_a"), PASSWORD)

    signed_in(page)
    expect(page).to_have_title("RadBridge – 发送影像检查")
    expect(page.locator("h1")).to_have_text("向阅片中心发送检查")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.locator("#dashboard")).to_contain_text("浏览文件夹")  # Uppy's own zh_CN
    page.select_option("#urgency", "stat")
    expect(page.locator("#urgency option:checked")).to_have_text("特急")
    send_folder(page, tmp_path / "study", 2)

    expect(page.locator("#batches")).to_contain_text(
        "完成：已发送 2 个文件、1 个检查（紧急程度：特急；批次", timeout=60_000
    )
    expect(page.locator("#progress")).to_have_text("已发送 2 / 2 个文件（100%）")
    (study,) = drain(orthanc, use_database, study_uid, timeout=20)
    assert study.orthanc_id is not None


def test_a_chinese_browser_can_switch_the_page_to_english(page: Page, gateway_url: str) -> None:
    page.goto(f"{gateway_url}/upload")
    expect(page.locator("button[type=submit]")).to_have_text("登录")

    page.click("#language")

    expect(page).to_have_url(f"{gateway_url}/upload?lang=en")
    expect(page.locator("button[type=submit]")).to_have_text("Sign in")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("#language")).to_have_text("中文")


def test_a_failed_sign_in_is_explained_in_chinese(page: Page, gateway_url: str) -> None:
    page.route("**/upload/sign-in", lambda route: route.abort())  # the gateway out of reach

    sign_in(page, gateway_url, "anyone", "wrong")

    expect(page.locator("#sign-in-error")).to_have_text("无法连接网关；请检查网络后再试。")


def test_sign_in_refusals_are_explained_in_chinese(
    page: Page, gateway_url: str, consortium: Consortium
) -> None:
    sign_in(page, gateway_url, consortium.username("staff_a"), "not the password")
    expect(page.locator("#sign-in-error")).to_have_text("用户名或密码错误，或账号已停用。")

    sign_in(page, gateway_url, consortium.username("radiologist"), PASSWORD)
    expect(page.locator("#sign-in-error")).to_contain_text("此账号不能发送检查")
    expect(page.locator("#uploader")).to_be_hidden()


def test_a_file_above_the_limit_is_explained_in_chinese(
    small_limit: int, page: Page, gateway_url: str, consortium: Consortium, tmp_path: Path
) -> None:
    sign_in(page, gateway_url, consortium.username("staff_a"), PASSWORD)
    signed_in(page)

    send_zip_above(page, tmp_path, small_limit)

    errors = page.locator("#errors")
    expect(errors).to_contain_text("big-study.zip: 文件过大（413），超过了网关的上传上限")
    expect(errors).to_contain_text(f"uploads are limited to {small_limit} bytes")  # the detail
