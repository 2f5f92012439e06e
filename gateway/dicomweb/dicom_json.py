"""The STOW-RS response body (PS3.18 10.5.3) in the DICOM JSON model."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# Failure reasons of PS3.18 table 10.5.3-2 / PS3.4 C-STORE statuses.
CANNOT_UNDERSTAND = 0xC000
DATA_SET_MISMATCH = 0xA900
OUT_OF_RESOURCES = 0xA700
REFUSED_NOT_AUTHORIZED = 0x0124
PROCESSING_FAILURE = 0x0110


@dataclass(frozen=True)
class StoredRef:
    """An instance that was stored."""

    sop_class_uid: str
    sop_instance_uid: str
    retrieve_url: str


@dataclass(frozen=True)
class FailedRef:
    """An instance that was not stored, and why."""

    sop_class_uid: str
    sop_instance_uid: str
    failure_reason: int
    comment: str


def _ui(value: str) -> dict[str, Any]:
    return {"vr": "UI", "Value": [value]} if value else {"vr": "UI"}


def stow_response(stored: list[StoredRef], failed: list[FailedRef]) -> dict[str, Any]:
    """Build the Store Instances Response Module."""
    body: dict[str, Any] = {}
    if stored:
        body["00081199"] = {
            "vr": "SQ",
            "Value": [
                {
                    "00081150": _ui(s.sop_class_uid),
                    "00081155": _ui(s.sop_instance_uid),
                    "00081190": {"vr": "UR", "Value": [s.retrieve_url]},
                }
                for s in stored
            ],
        }
    if failed:
        body["00081198"] = {
            "vr": "SQ",
            "Value": [
                {
                    "00081150": _ui(f.sop_class_uid),
                    "00081155": _ui(f.sop_instance_uid),
                    "00081197": {"vr": "US", "Value": [f.failure_reason]},
                    "00404002": {"vr": "LO", "Value": [f.comment[:64]]}
                    if f.comment
                    else {"vr": "LO"},
                }
                for f in failed
            ],
        }
    return body
