"""Identifier helpers: UUIDs for our rows, validated DICOM UIDs for everything from outside."""

from __future__ import annotations

import re
import uuid

_DICOM_UID = re.compile(r"^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*$")


def new_id() -> uuid.UUID:
    """Return a fresh random id (not guessable, so ids reveal nothing across tenants)."""
    return uuid.uuid4()


def is_dicom_uid(value: str) -> bool:
    """Return whether ``value`` is a syntactically valid DICOM UID (PS3.5 9.1)."""
    return 0 < len(value) <= 64 and bool(_DICOM_UID.match(value))


def parse_uuid(value: str) -> uuid.UUID | None:
    """Return ``value`` as a UUID, or None when it is not one."""
    try:
        return uuid.UUID(value)
    except (ValueError, AttributeError):
        return None
