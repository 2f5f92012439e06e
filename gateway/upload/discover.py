"""Which local files an upload sends: a file, a folder (recursively), a zip, or a DICOMDIR.

Only DICOM Part 10 files (``DICM`` at byte 128) and zips are sent; anything else in a folder
(thumbnails, viewers on a CD, text) is listed as skipped rather than quarantined server-side.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pydicom
from pydicom.errors import InvalidDicomError


@dataclass(frozen=True)
class LocalFile:
    """A file to send, and its name relative to the upload's root (sent as metadata)."""

    path: Path
    name: str


@dataclass(frozen=True)
class Selection:
    """What an upload of one PATH will send, and what it leaves out."""

    root: Path
    files: list[LocalFile]
    skipped: list[Path]


def _kind(path: Path) -> str:
    try:
        with path.open("rb") as head:
            start = head.read(132)
    except OSError:
        return "unreadable"
    if start[:4] == b"PK\x03\x04":
        return "zip"
    if start[128:132] == b"DICM":
        return "dicom"
    return "other"


def _dicomdir_files(dicomdir: Path) -> Selection:
    try:
        index = pydicom.dcmread(dicomdir, stop_before_pixels=True)
    except (InvalidDicomError, OSError, ValueError) as exc:
        raise ValueError(f"{dicomdir} is not a readable DICOMDIR: {exc}") from exc
    root = dicomdir.parent
    files, skipped = [], []
    for record in index.get("DirectoryRecordSequence", []):
        parts = record.get("ReferencedFileID")
        if not parts:
            continue
        relative = Path(*([parts] if isinstance(parts, str) else list(parts)))
        path = root / relative
        if path.is_file() and _kind(path) == "dicom":
            files.append(LocalFile(path, relative.as_posix()))
        else:
            skipped.append(path)
    return Selection(root, files, skipped)


def _find_dicomdir(folder: Path) -> Path | None:
    for candidate in folder.iterdir():
        if candidate.is_file() and candidate.name.upper() == "DICOMDIR":
            return candidate
    return None


def select(path: Path) -> Selection:
    """Return the files to send for ``path``; raise ValueError when there is nothing to send."""
    path = path.resolve()
    if not path.exists():
        raise ValueError(f"{path} does not exist.")
    if path.is_file():
        if path.name.upper() == "DICOMDIR":
            return _dicomdir_files(path)
        if _kind(path) not in {"dicom", "zip"}:
            raise ValueError(f"{path} is neither a DICOM file nor a zip.")
        return Selection(path, [LocalFile(path, path.name)], [])
    dicomdir = _find_dicomdir(path)
    if dicomdir is not None:
        return _dicomdir_files(dicomdir)
    files, skipped = [], []
    for candidate in sorted(p for p in path.rglob("*") if p.is_file()):
        relative = candidate.relative_to(path)
        if any(part.startswith(".") for part in relative.parts):
            continue  # our own state files, editors' swap files
        if _kind(candidate) in {"dicom", "zip"}:
            files.append(LocalFile(candidate, relative.as_posix()))
        else:
            skipped.append(candidate)
    return Selection(path, files, skipped)
