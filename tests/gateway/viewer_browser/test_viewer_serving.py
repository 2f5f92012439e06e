"""The viewer's files, sign-in and AI result series, checked over HTTP (no browser)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from gateway.viewer_web import bundle
from services.auth.tokens import verify_access_token
from services.contracts.ai_results import AI_RESULT_SERIES_DESCRIPTION
from services.kit.settings import get_settings
from tests.fixtures.consortium import PASSWORD, Consortium
from tests.gateway.upload.conftest import token_for
from tests.gateway.viewer_browser.conftest import ViewerWorld

pytestmark = pytest.mark.integration

OHIF_INDEX = (
    '<head><script>console.time("s"),window.PUBLIC_URL="/"</script>'
    '<link rel="manifest" href="/manifest.json"><meta name="t" content="/assets/tile.png">'
    '<script rel="preload" as="script" src="/app-config.js"></script>'
    '<script rel="preload" as="script" type="module" src="/init-service-worker.js"></script>'
    '<script>function browserImportFunction(n){return import(n)}window.PUBLIC_URL="/"</script>'
    '<script defer src="/app.bundle.0f6159c501addfe9.js"></script>'
    '<link href="/app.bundle.css" rel="stylesheet"></head>'
)


@pytest.mark.unit
def test_index_is_moved_to_the_mount_with_our_start_up_script_instead_of_inline_ones() -> None:
    moved = bundle.relocate_index(OHIF_INDEX).text

    assert "<script>" not in moved and "init-service-worker" not in moved
    assert (
        '<script src="/viewer/radbridge/boot.js" '
        'data-entry="/viewer/app.bundle.0f6159c501addfe9.js"></script>' in moved
    )
    assert 'href="/viewer/manifest.json"' in moved and 'content="/viewer/assets/tile.png"' in moved
    assert 'src="/viewer/app-config.js"' in moved and 'href="/viewer/app.bundle.css"' in moved


@pytest.mark.unit
def test_public_path_and_style_urls_are_moved_and_a_changed_build_is_refused() -> None:
    script = bundle.relocate_script('x;__webpack_require__.p = "/";y')
    css = bundle.relocate_css("a{src:url(/a34f.woff2)}b{background:url(data:x)}")

    assert (script.text, script.changes) == ('x;__webpack_require__.p = "/viewer/";y', 1)
    assert (css.text, css.changes) == ("a{src:url(/viewer/a34f.woff2)}b{background:url(data:x)}", 1)
    with pytest.raises(bundle.BuildChanged):
        bundle.relocate_index(OHIF_INDEX.replace('window.PUBLIC_URL="/"', ""))


def test_the_viewer_page_is_served_under_a_strict_policy(gateway_url: str) -> None:
    page = httpx.get(f"{gateway_url}/viewer/viewer?StudyInstanceUIDs=1.2.3")
    config = httpx.get(f"{gateway_url}/viewer/app-config.js")

    assert page.status_code == 200
    policy = page.headers["content-security-policy"]
    assert "script-src 'self' 'wasm-unsafe-eval';" in policy and "connect-src 'self'" in policy
    assert "<script>" not in page.text and "/viewer/radbridge/boot.js" in page.text
    assert config.status_code == 200
    assert "window.location.origin + '/dicomweb'" in config.text
    assert "showStudyList: false" in config.text


def test_build_files_are_served_relocated_and_nothing_else(gateway_url: str) -> None:
    entry = next(bundle.INSTALL_DIR.glob("app.bundle.*.js")).name
    script = httpx.get(f"{gateway_url}/viewer/{entry}")

    assert script.status_code == 200
    assert script.headers["content-type"].startswith("text/javascript")
    assert "immutable" in script.headers["cache-control"]
    assert '__webpack_require__.p = "/viewer/"' in script.text
    assert '__webpack_require__.p = "/";' not in script.text
    for path in ("sw.js", "ort/ort.all.js", ".radbridge-installed", "..%2F..%2Fbundle.py", "a.b/c"):
        assert httpx.get(f"{gateway_url}/viewer/{path}").status_code == 404, path


def test_a_gateway_without_the_build_says_how_to_install_it(
    gateway_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(bundle, "STAMP", tmp_path / "absent")

    response = httpx.get(f"{gateway_url}/viewer/")

    assert response.status_code == 503
    assert "bash infra/dev.sh setup" in response.json()["message"]


def test_sign_in_gives_a_reader_a_token_and_refuses_a_wrong_password(
    gateway_url: str,
    consortium: Consortium,
) -> None:
    url = f"{gateway_url}/viewer/sign-in"
    good = httpx.post(
        url, data={"username": consortium.username("radiologist"), "password": PASSWORD}
    )
    bad = httpx.post(url, data={"username": consortium.username("radiologist"), "password": "x"})

    assert good.status_code == 200
    claims = verify_access_token(get_settings(), good.json()["access_token"])
    assert claims.tenant_id == consortium.tenant.id
    assert bad.status_code == 401


def _series(world: ViewerWorld, reader_of: Consortium, path: str = "") -> httpx.Response:
    return httpx.get(
        f"{world.url}/dicomweb/studies/{world.study_uid}/series{path}",
        headers={"Authorization": f"Bearer {token_for(reader_of, 'radiologist')}"},
    )


def test_readers_get_the_ai_result_series_but_never_a_forged_one(viewer_world: ViewerWorld) -> None:
    found = _series(viewer_world, viewer_world.mine)
    by_uid = {s["0020000E"]["Value"][0]: s for s in found.json()}

    assert found.status_code == 200
    assert set(by_uid) == {viewer_world.ct_series_uid, viewer_world.sr_series_uid}
    assert by_uid[viewer_world.sr_series_uid]["0008103E"]["Value"] == [AI_RESULT_SERIES_DESCRIPTION]
    metadata = _series(viewer_world, viewer_world.mine, f"/{viewer_world.sr_series_uid}/metadata")
    assert metadata.status_code == 200
    assert metadata.json()[0]["00080060"]["Value"] == ["SR"]
    forged = _series(viewer_world, viewer_world.mine, f"/{viewer_world.forged_series_uid}/metadata")
    assert forged.status_code == 404
    assert _series(viewer_world, viewer_world.other).status_code == 404
