"""Serve the OHIF Viewer at ``/viewer/``, on the same origin as the gateway's DICOMweb root.

The viewer reads only through ``/dicomweb`` with the signed-in user's bearer token, so every
image passes the gateway's per-study access checks; Orthanc stays unreachable from the browser.
Sign-in is a same-origin password grant for accounts that may read studies (as the upload page
does for uploaders). OHIF's build comes from ``python -m gateway.viewer_web.install`` (run by
``bash infra/dev.sh setup``); our configuration and start-up script replace OHIF's own.
"""

from __future__ import annotations

import mimetypes
import re
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Form
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse

from gateway.viewer_web import bundle
from services.auth import service as auth_service
from services.auth.schemas import TokenResponse
from services.domain.roles import CLINICAL_ROLES
from services.kit.errors import NotFound, ServiceUnavailable
from services.kit.http import DbSession, Settings

STATIC = Path(__file__).resolve().parent / "static"
# Ours, served from a fixed map: app-config.js replaces OHIF's packaged one.
OWN_ASSETS = {
    "boot.js": "text/javascript",
    "sign-in.js": "text/javascript",
    "sign-in.css": "text/css",
}
# A client-side route of the viewer (``viewer``, ``viewer/dicomweb``): answered with index.html.
_APP_ROUTE = re.compile(r"^([A-Za-z0-9_-]{1,64}(/[A-Za-z0-9_-]{1,64}){0,3})?$")
_BUILD_FILE = re.compile(
    r"^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,127}(/[A-Za-z0-9_-][A-Za-z0-9_.-]{0,127}){0,4}$"
)
_HASHED = re.compile(r"\.[0-9a-f]{16}\.(js|wasm)$|^[0-9a-f]{16}\.(wasm|woff2)$")
_TYPES = {".js": "text/javascript", ".mjs": "text/javascript", ".wasm": "application/wasm"}

# OHIF compiles WebAssembly codecs ('wasm-unsafe-eval'), starts workers from blob: URLs and sets
# inline styles; it loads and sends nothing beyond this origin.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self' blob:; "
    "connect-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; "
    "font-src 'self' data:; object-src 'none'; base-uri 'self'; frame-ancestors 'none'; "
    "form-action 'self'"
)
PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}

router = APIRouter(prefix="/viewer", tags=["viewer"])


def _require_build() -> None:
    if not bundle.installed():
        raise ServiceUnavailable(
            f"The OHIF viewer ({bundle.PACKAGE}@{bundle.VERSION}) is not installed on this "
            "gateway; run `bash infra/dev.sh setup` (or `python -m gateway.viewer_web.install`)."
        )


def _index() -> HTMLResponse:
    _require_build()
    html = (bundle.INSTALL_DIR / "index.html").read_text("utf-8")
    return HTMLResponse(html, headers=PAGE_HEADERS)


@router.get("", include_in_schema=False)
def mount_root() -> RedirectResponse:
    """Send ``/viewer`` to ``/viewer/``."""
    return RedirectResponse("/viewer/", status_code=308)


@router.get("/sign-in", response_class=HTMLResponse)
def sign_in_page() -> HTMLResponse:
    """Return the viewer's sign-in page."""
    return HTMLResponse((STATIC / "sign-in.html").read_text("utf-8"), headers=PAGE_HEADERS)


@router.post("/sign-in")
def sign_in(
    session: DbSession,
    settings: Settings,
    username: Annotated[str, Form(min_length=1, max_length=200)],
    password: Annotated[str, Form(min_length=1, max_length=1000)],
) -> TokenResponse:
    """Check the password of an account that may read studies; return its token (401/403)."""
    token, ttl = auth_service.password_grant_for_roles(
        session,
        settings,
        username=username,
        password=password,
        roles=CLINICAL_ROLES,
        refusal="This account cannot read studies; sign in with a clinical account.",
    )
    return TokenResponse(access_token=token, expires_in=ttl)


@router.get("/app-config.js")
def app_config() -> FileResponse:
    """Return RadBridge's viewer configuration (the gateway's DICOMweb root, no study list)."""
    return FileResponse(
        STATIC / "app-config.js", media_type="text/javascript", headers=PAGE_HEADERS
    )


@router.get("/radbridge/{name}")
def own_asset(name: str) -> FileResponse:
    """Return one of RadBridge's own viewer scripts or style sheets."""
    if name not in OWN_ASSETS:
        raise NotFound(f"The viewer has no asset {name!r}.")
    return FileResponse(STATIC / name, media_type=OWN_ASSETS[name], headers=PAGE_HEADERS)


@router.get("/{path:path}", response_model=None)
def build_file(path: str) -> FileResponse | HTMLResponse:
    """Return a file of the OHIF build, or the viewer page for one of its own routes."""
    if _APP_ROUTE.match(path):
        return _index()
    _require_build()
    if not _BUILD_FILE.match(path) or bundle.is_excluded(path):
        raise NotFound("The viewer has no such file.")
    root = bundle.INSTALL_DIR.resolve()
    file = (root / path).resolve()
    if not file.is_relative_to(root) or not file.is_file() or file == bundle.STAMP.resolve():
        raise NotFound("The viewer has no such file.")
    media_type = _TYPES.get(file.suffix) or mimetypes.guess_type(file.name)[0]
    cache = "public, max-age=31536000, immutable" if _HASHED.search(path) else "no-cache"
    headers = {"Cache-Control": cache, "X-Content-Type-Options": "nosniff"}
    if file.name == "index.html":
        headers = PAGE_HEADERS
    return FileResponse(file, media_type=media_type or "application/octet-stream", headers=headers)
