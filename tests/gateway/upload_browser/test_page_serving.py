"""The page and its scripts come from the gateway itself, under a strict content policy."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from gateway.upload_web import router as page_router

pytestmark = pytest.mark.integration


def test_the_page_forbids_scripts_and_connections_to_other_origins(gateway_url: str) -> None:
    response = httpx.get(f"{gateway_url}/upload")

    assert response.status_code == 200
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "connect-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert '<script type="module" src="/upload/assets/upload.js">' in response.text


def test_uppy_is_served_from_node_modules(gateway_url: str) -> None:
    response = httpx.get(f"{gateway_url}/upload/assets/uppy.min.mjs")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    assert "Dashboard" in response.text and "Tus" in response.text


def test_uppys_simplified_chinese_is_served_from_node_modules(gateway_url: str) -> None:
    response = httpx.get(f"{gateway_url}/upload/assets/uppy-locale-zh_CN.mjs")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    assert "浏览文件夹" in response.text and "export default" in response.text


def test_only_the_listed_assets_are_served(gateway_url: str) -> None:
    for name in ("package.json", "..%2Frouter.py", "uppy.min.js.map"):
        response = httpx.get(f"{gateway_url}/upload/assets/{name}")
        assert response.status_code == 404, name


def test_a_gateway_without_npm_packages_says_how_to_install_them(
    gateway_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    missing = {"uppy.min.mjs": (tmp_path / "absent.mjs", "text/javascript")}
    monkeypatch.setattr(page_router, "ASSETS", missing)

    response = httpx.get(f"{gateway_url}/upload/assets/uppy.min.mjs")

    assert response.status_code == 503
    assert "bash infra/dev.sh setup" in response.json()["message"]
