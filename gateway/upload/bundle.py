"""What a finished upload holds: one DICOM file, or a zip of them (a DICOMDIR bundle too).

Zips are checked as a whole before one instance is stored: entry count, total and per-entry
uncompressed size, compression ratio, and names (absolute, ``..``, backslashes, NUL are refused
even though nothing is written to disk, since such a zip is hostile). Entry sizes are enforced
while reading, because the sizes in the central directory can be forged.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from services.kit.errors import AppError

DICOMDIR_SOP_CLASS = b"1.2.840.10008.1.3.10"
_SKIPPED_PREFIXES = ("__MACOSX/",)
_RATIO_CHECK_FROM = 1024 * 1024  # small entries may compress well without being bombs


class ArchiveTooLarge(AppError):
    """A zip whose expansion would exceed the limits (a zip bomb, or simply too big)."""

    status_code = 413
    code = "archive_too_large"


class UnsafeArchive(AppError):
    """A zip with entry names that try to leave the folder, or that cannot be read safely."""

    status_code = 400
    code = "unsafe_archive"


class UnsupportedUpload(AppError):
    """An upload that is neither a DICOM file nor a zip of DICOM files."""

    status_code = 422
    code = "unsupported_upload"


@dataclass(frozen=True)
class ZipLimits:
    """Bounds on what one zip may expand to."""

    max_entries: int = 20_000
    max_total_bytes: int = 8 * 1024**3
    max_entry_bytes: int = 2 * 1024**3
    max_ratio: int = 200


def is_zip(path: Path) -> bool:
    """Return whether the file starts like a zip archive (local file header magic)."""
    with path.open("rb") as head:
        return head.read(4) == b"PK\x03\x04"


def is_dicomdir(data: bytes) -> bool:
    """Return whether a DICOM file is a DICOMDIR (Media Storage Directory) index."""
    return DICOMDIR_SOP_CLASS in data[:1024]


def _unsafe_name(name: str) -> bool:
    pure = PurePosixPath(name)
    return (
        "\\" in name
        or "\x00" in name
        or pure.is_absolute()
        or ".." in pure.parts
        or (len(name) > 1 and name[1] == ":")
    )


def _wanted(info: zipfile.ZipInfo) -> bool:
    name = info.filename
    base = PurePosixPath(name).name
    return (
        not info.is_dir()
        and not name.startswith(_SKIPPED_PREFIXES)
        and not base.startswith(".")
        and base.upper() != "DICOMDIR"
    )


def check_zip(archive: zipfile.ZipFile, limits: ZipLimits) -> list[zipfile.ZipInfo]:
    """Return the entries to read, or refuse the whole zip with the reason."""
    entries = archive.infolist()
    if len(entries) > limits.max_entries:
        raise ArchiveTooLarge(
            f"The zip has {len(entries)} entries; at most {limits.max_entries} are accepted. "
            "Split it into several zips."
        )
    total = 0
    for info in entries:
        if _unsafe_name(info.filename):
            raise UnsafeArchive(
                f"The zip entry name {info.filename!r} points outside the archive folder; "
                "re-create the zip from the study folder itself."
            )
        if info.flag_bits & 0x1:
            raise UnsafeArchive("The zip is encrypted; send it without a password.")
        total += info.file_size
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > _RATIO_CHECK_FROM and ratio > limits.max_ratio:
            raise ArchiveTooLarge(
                f"The zip entry {info.filename!r} expands {ratio:.0f} times (limit "
                f"{limits.max_ratio}); this looks like a zip bomb and was refused."
            )
        if info.file_size > limits.max_entry_bytes or total > limits.max_total_bytes:
            raise ArchiveTooLarge(
                f"The zip expands to more than {limits.max_total_bytes // 2**20} MiB "
                f"(or one entry to more than {limits.max_entry_bytes // 2**20} MiB); split it."
            )
    return [info for info in entries if _wanted(info)]


def _read_entry(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    with archive.open(info) as entry:
        data = entry.read(info.file_size + 1)
    if len(data) > info.file_size:
        raise ArchiveTooLarge(
            f"The zip entry {info.filename!r} holds more bytes than its header declares; refused."
        )
    return data


def instances_in(path: Path, limits: ZipLimits | None = None) -> Iterator[tuple[str, bytes]]:
    """Yield (name, bytes) of every candidate DICOM instance in the finished upload."""
    if is_zip(path):
        try:
            with zipfile.ZipFile(path) as archive:
                for info in check_zip(archive, limits or ZipLimits()):
                    yield info.filename, _read_entry(archive, info)
        except (zipfile.BadZipFile, NotImplementedError, EOFError) as exc:
            raise UnsafeArchive(f"The zip cannot be read: {exc}") from exc
        return
    data = path.read_bytes()
    if is_dicomdir(data):
        raise UnsupportedUpload(
            "A DICOMDIR only lists the files of a study; upload its whole folder or a zip of it."
        )
    yield path.name, data
