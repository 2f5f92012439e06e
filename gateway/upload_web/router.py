"""Serve the clinic upload page, its scripts, and a same-origin sign-in for it.

The page signs in here rather than at the API's ``/oauth/token``: the API listens on another
origin, and a same-origin form needs no CORS rule that would let other sites post passwords.
It runs the same password grant in process (gateway and API share the signing key in the state
folder). Uppy's prebuilt bundle is served from ``node_modules`` (``npm ci``), never copied in.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Form
from fastapi.responses import FileResponse, HTMLResponse

from services.auth import service as auth_service
from services.auth.schemas import TokenResponse
from services.domain.roles import UPLOAD_ROLES
from services.kit.errors import NotFound, ServiceUnavailable
from services.kit.http import DbSession, Settings

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
NODE_MODULES = HERE / "node_modules"
UPPY_DIST = NODE_MODULES / "uppy" / "dist"
# Only these files are served: a fixed map, so no request path ever reaches the file system.
ASSETS = {
    "upload.js": (STATIC / "upload.js", "text/javascript"),
    "messages.js": (STATIC / "messages.js", "text/javascript"),
    "upload.css": (STATIC / "upload.css", "text/css"),
    "uppy.min.mjs": (UPPY_DIST / "uppy.min.mjs", "text/javascript"),
    "uppy.min.css": (UPPY_DIST / "uppy.min.css", "text/css"),
    # Uppy's own Simplified Chinese (installed with the uppy bundle): its buttons and messages.
    "uppy-locale-zh_CN.mjs": (
        NODE_MODULES / "@uppy" / "locales" / "lib" / "zh_CN.js",
        "text/javascript",
    ),
}
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; connect-src 'self'; img-src 'self' data: blob:; "
        "style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}

router = APIRouter(prefix="/upload", tags=["upload page"])


@router.get("", response_class=HTMLResponse, include_in_schema=False)
@router.get("/", response_class=HTMLResponse)
def page() -> HTMLResponse:
    """Return the upload page (sign in, pick files or a folder, watch them arrive).

    It speaks Simplified Chinese to browsers that prefer Chinese, English otherwise;
    ``?lang=zh-CN`` or ``?lang=en`` chooses (the page's script applies it).
    """
    return HTMLResponse((STATIC / "upload.html").read_text("utf-8"), headers=PAGE_HEADERS)


@router.get("/assets/{name}")
def asset(name: str) -> FileResponse:
    """Return one of the page's scripts or style sheets."""
    if name not in ASSETS:
        raise NotFound(f"The upload page has no asset {name!r}.")
    path, media_type = ASSETS[name]
    if not path.is_file():
        raise ServiceUnavailable(
            "The upload page's Uppy bundle is not installed on this gateway; run "
            "`bash infra/dev.sh setup` (it runs `npm ci` in gateway/upload_web)."
        )
    cache = "public, max-age=86400" if path.is_relative_to(NODE_MODULES) else "no-cache"
    headers = {"Cache-Control": cache, "X-Content-Type-Options": "nosniff"}
    return FileResponse(path, media_type=media_type, headers=headers)


@router.post("/sign-in")
def sign_in(
    session: DbSession,
    settings: Settings,
    username: Annotated[str, Form(min_length=1, max_length=200)],
    password: Annotated[str, Form(min_length=1, max_length=1000)],
) -> TokenResponse:
    """Check a clinic user's password and return a token for the tus endpoint (401/403)."""
    token, ttl = auth_service.password_grant_for_roles(
        session,
        settings,
        username=username,
        password=password,
        roles=UPLOAD_ROLES,
        refusal="This account cannot send studies; sign in as clinic staff or a clinic physician.",
    )
    return TokenResponse(access_token=token, expires_in=ttl)
