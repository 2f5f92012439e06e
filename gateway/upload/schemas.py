"""JSON answers of the upload endpoints (the tus requests themselves answer in headers)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class UploadRead(BaseModel):
    """Where an upload stands and, once stored, what became of its instances."""

    id: str
    length: int
    offset: int
    state: str  # receiving | received | stored | rejected
    batch: str
    outcome: dict[str, Any]


class BatchRead(BaseModel):
    """An upload batch: how many files arrived, and whether readers may see its studies."""

    batch: str
    status: str  # OPEN | FINALIZED
    expected_files: int
    received_files: int
    studies: list[str]
