"""The pinned OHIF Viewer build, and how it is moved from the root path to ``/viewer/``.

OHIF publishes its finished static build as the npm package ``@ohif/app`` (``dist/``). Its
dependencies are build-time only and are not all on our npm mirror, so the tarball is fetched
alone with ``npm pack`` and checked against the registry's sha512 integrity pinned here.

The build is made for the root of its origin: webpack's public path ``"/"`` is compiled into the
entry bundle and its workers, ``index.html`` and the style sheet use ``/...`` URLs. The gateway
serves it under ``/viewer/`` next to its own DICOMweb root (one origin: no CORS, the token
never crosses origins), so installing rewrites exactly those places. Each rewrite is counted;
a new OHIF version whose build changed shape fails the install instead of serving a viewer
that loads half its files from the wrong place.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

PACKAGE = "@ohif/app"
VERSION = "3.13.2"
INTEGRITY = (  # `npm view @ohif/app@3.13.2 dist.integrity`
    "sha512-WZdxmpmG7rqFgW9ZJLcbgr3XCtLi1KDNPoMaeY5PPe6j4G4fjEjjkycZM6C6Zk2F87BKxFfpq+jd5xXZB9E8EA=="
)
MOUNT = "/viewer/"
HERE = Path(__file__).resolve().parent
INSTALL_DIR = HERE / "dist"  # git-ignored; written by `python -m gateway.viewer_web.install`
STAMP = INSTALL_DIR / ".radbridge-installed"
# Left out of the install: onnxruntime-web (136 MB, OHIF's in-browser segmentation models), the
# slide-microscopy viewer, the service worker (it caches from a CDN) and hosting-provider files.
EXCLUDED = (
    *("ort/", "dicom-microscopy-viewer/", "sw.js", "init-service-worker.js"),
    *("_headers", "_redirects", "serve.json", "app-config.js", "google.js", "silent-refresh.html"),
)

_PUBLIC_PATH = '__webpack_require__.p = "/";'
_CSS_URL = re.compile(r"url\(/(?=[A-Za-z0-9])")
_HTML_URL = re.compile(r'(src|href|content)="/(?=[A-Za-z0-9])')
_INLINE_SCRIPT = re.compile(r"<script>[^<]*</script>")
_SERVICE_WORKER = re.compile(r'<script[^>]*src="/init-service-worker\.js"[^>]*></script>')
_ENTRY = re.compile(r'<script defer(?:="defer")? src="/(app\.bundle\.[0-9a-f]+\.js)"></script>')
# Our start-up script replaces OHIF's inline ones (so the page needs no 'unsafe-inline' script)
# and starts OHIF's entry bundle only for a signed-in user.
BOOT_SCRIPT = f"{MOUNT}radbridge/boot.js"


class BuildChanged(Exception):
    """The packaged build does not look like the one these rewrites were written for."""


@dataclass(frozen=True)
class Relocated:
    """A rewritten text file and how many places were changed in it."""

    text: str
    changes: int


def stamp_text() -> str:
    """Return what the stamp file holds for the pinned build."""
    return f"{PACKAGE}@{VERSION} {INTEGRITY} {MOUNT}\n"


def installed() -> bool:
    """Tell whether the pinned build is installed and relocated."""
    return STAMP.is_file() and STAMP.read_text("utf-8") == stamp_text()


def relocate_script(text: str) -> Relocated:
    """Point a webpack runtime's public path at the mount."""
    count = text.count(_PUBLIC_PATH)
    return Relocated(text.replace(_PUBLIC_PATH, f'__webpack_require__.p = "{MOUNT}";'), count)


def relocate_css(text: str) -> Relocated:
    """Point root-relative ``url(/...)`` references at the mount."""
    new, count = _CSS_URL.subn(f"url({MOUNT}", text)
    return Relocated(new, count)


def relocate_index(text: str) -> Relocated:
    """Rewrite OHIF's ``index.html``: mounted URLs, our start-up script, no service worker.

    The entry bundle's tag is replaced by ours, which names the bundle in ``data-entry``.
    """
    inline = _INLINE_SCRIPT.findall(text)
    if not inline or not all("PUBLIC_URL" in script for script in inline):
        raise BuildChanged("index.html no longer sets PUBLIC_URL in its inline scripts.")
    entries = _ENTRY.findall(text)
    if len(entries) != 1:
        raise BuildChanged(f"index.html loads {len(entries)} entry bundles, expected one.")
    entry = MOUNT + entries[0]
    boot = f'<script src="{BOOT_SCRIPT}" data-entry="{entry}"></script>'
    text = _SERVICE_WORKER.sub("", text)
    text = _INLINE_SCRIPT.sub("", text)
    text = _ENTRY.sub("<!--boot-->", text)
    text, count = _HTML_URL.subn(rf'\1="{MOUNT}', text)
    return Relocated(text.replace("<!--boot-->", boot), count + len(inline) + 1)


def is_excluded(relative: str) -> bool:
    """Tell whether a path inside ``dist/`` is left out of the install."""
    return any(
        relative == name or (name.endswith("/") and relative.startswith(name)) for name in EXCLUDED
    )
