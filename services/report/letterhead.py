"""The reading hospital's letterhead from the consortium's settings: lines and a logo.

``report_letterheads.{hospital code}`` holds ``lines`` (up to three) and ``logo``, which must be
an inline ``data:image/png;base64,...`` (or ``image/jpeg``) URL of at most 256 KiB. Nothing is
ever fetched: a renderer in a worker that followed an admin-supplied URL could be pointed at
internal services (SSRF), so http(s), file and every other scheme is refused. A refused logo is
left off the page with a logged reason; it never stops a signed report from being rendered.
"""

from __future__ import annotations

import base64
import binascii
import logging
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

MAX_LOGO_BYTES = 256 * 1024
_MEDIA_TYPES = ("image/png", "image/jpeg")


class LogoRefused(ValueError):
    """A logo setting that is not an inline PNG or JPEG data URL of a sane size."""


@dataclass(frozen=True)
class Letterhead:
    """What the PDF prints under the hospital's name."""

    lines: tuple[str, ...] = ()
    logo: bytes | None = None


def decode_logo(value: str) -> bytes:
    """Return the image bytes of a ``data:`` URL logo, or raise ``LogoRefused``."""
    head, comma, data = value.partition(",")
    if not head.lower().startswith("data:"):
        scheme = head.split(":", 1)[0][:20] if ":" in head else "no scheme"
        raise LogoRefused(
            f"logo must be a data: URL, not {scheme!r} (remote images are never fetched)"
        )
    media, _, encoding = head[5:].partition(";")
    if not comma or media.lower() not in _MEDIA_TYPES or encoding.lower() != "base64":
        raise LogoRefused("logo must be data:image/png;base64,... or data:image/jpeg;base64,...")
    if len(data) > MAX_LOGO_BYTES * 4 // 3 + 4:
        raise LogoRefused(f"logo is larger than {MAX_LOGO_BYTES // 1024} KiB")
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise LogoRefused(f"logo is not valid base64: {exc}") from exc


def from_settings(tenant_settings: dict[str, Any], hospital_code: str) -> Letterhead:
    """Return the letterhead of ``hospital_code`` kept in the consortium's settings."""
    entry = (tenant_settings.get("report_letterheads") or {}).get(hospital_code) or {}
    lines = tuple(str(line) for line in (entry.get("lines") or [])[:3])
    logo = None
    if entry.get("logo"):
        try:
            logo = decode_logo(str(entry["logo"]))
        except LogoRefused as exc:
            log.warning("letterhead logo of %s left off the report: %s", hospital_code, exc)
    return Letterhead(lines, logo)
