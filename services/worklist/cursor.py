"""Opaque, signed keyset cursors for the worklist pages.

A cursor carries the sort key of the last row of a page (priority, created_at, id) and a
fingerprint of the filters it was made for. It is base64url JSON plus an HMAC-SHA256 tag under a
key derived from ``settings.auth.signing_key``, so a client can neither forge a position nor
reuse a cursor with other filters: any change gives ``InvalidCursor`` (400).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import uuid
from dataclasses import dataclass
from datetime import datetime

from services.kit.errors import AppError

_CONTEXT = b"radbridge/worklist-cursor/v1"
_TAG_BYTES = 16


class InvalidCursor(AppError):
    """The page cursor was not made by this server for this query."""

    status_code = 400
    code = "invalid_cursor"


@dataclass(frozen=True)
class Position:
    """The sort key of the last item of a page."""

    priority: int
    created_at: datetime
    item_id: uuid.UUID


def derive_key(signing_key: str) -> bytes:
    """Return the cursor key: an HMAC of a fixed context under the platform signing key."""
    return hmac.new(signing_key.encode(), _CONTEXT, hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _tag(key: bytes, body: bytes) -> bytes:
    return hmac.new(key, body, hashlib.sha256).digest()[:_TAG_BYTES]


def encode(position: Position, *, fingerprint: str, key: bytes) -> str:
    """Return the signed cursor of ``position`` for the query with ``fingerprint``."""
    payload = {
        "p": position.priority,
        "c": position.created_at.isoformat(),
        "i": position.item_id.hex,
        "f": fingerprint,
    }
    body = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
    return f"{_b64(body)}.{_b64(_tag(key, body))}"


def decode(cursor: str, *, fingerprint: str, key: bytes) -> Position:
    """Return the position in ``cursor``, or raise InvalidCursor if it is forged or foreign."""
    invalid = InvalidCursor(
        "invalid page cursor: use the next_cursor of the previous page with the same filters."
    )
    try:
        body_text, tag_text = cursor.split(".", 1)
        body, tag = _unb64(body_text), _unb64(tag_text)
    except (ValueError, binascii.Error):
        raise invalid from None
    if not hmac.compare_digest(tag, _tag(key, body)):
        raise invalid
    try:
        payload = json.loads(body)
        if payload["f"] != fingerprint:
            raise invalid
        return Position(
            priority=int(payload["p"]),
            created_at=datetime.fromisoformat(payload["c"]),
            item_id=uuid.UUID(hex=payload["i"]),
        )
    except (KeyError, TypeError, ValueError):
        raise invalid from None
