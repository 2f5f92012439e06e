"""Split a ``multipart/related`` body (RFC 2387) into its parts' bytes."""

from __future__ import annotations

import re

_BOUNDARY = re.compile(r'boundary="?([^";]+)"?', re.IGNORECASE)
_TYPE = re.compile(r'type="?([^";]+)"?', re.IGNORECASE)


class MultipartError(ValueError):
    """The body is not a well-formed multipart/related message."""


def related_type(content_type: str) -> str:
    """Return the ``type`` parameter of a multipart/related content type ("" if absent)."""
    match = _TYPE.search(content_type)
    return match.group(1).strip().lower() if match else ""


def split_parts(content_type: str, body: bytes) -> list[tuple[dict[str, str], bytes]]:
    """Return (headers, payload) for every part of ``body``."""
    if not content_type.lower().startswith("multipart/related"):
        raise MultipartError('Send Content-Type: multipart/related; type="application/dicom".')
    match = _BOUNDARY.search(content_type)
    if not match:
        raise MultipartError("The multipart/related Content-Type has no boundary parameter.")
    delimiter = b"--" + match.group(1).encode("latin-1")
    chunks = body.split(delimiter)
    if len(chunks) < 3 or not chunks[-1].startswith(b"--"):
        raise MultipartError("The body does not end with the closing multipart boundary.")
    parts = []
    for chunk in chunks[1:-1]:
        chunk = chunk.removeprefix(b"\r\n")
        head, sep, payload = chunk.partition(b"\r\n\r\n")
        if not sep:
            raise MultipartError("A part has no blank line between its headers and content.")
        headers = {}
        for line in head.decode("latin-1").split("\r\n"):
            name, _, value = line.partition(":")
            if name.strip():
                headers[name.strip().lower()] = value.strip()
        parts.append((headers, payload.removesuffix(b"\r\n")))
    return parts
