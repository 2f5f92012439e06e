"""The tus 1.0 resumable-upload protocol: headers, metadata and checksums (no I/O).

Extensions served: creation, termination and checksum (https://tus.io/protocols/resumable-upload).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass

from services.kit.errors import AppError

TUS_VERSION = "1.0.0"
EXTENSIONS = "creation,termination,checksum"
CHECKSUM_ALGORITHMS = ("sha256", "sha1", "md5")
OFFSET_CONTENT_TYPE = "application/offset+octet-stream"
BATCH_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
MAX_METADATA_CHARS = 4096


class TusError(AppError):
    """A request that breaks the tus protocol; the message says what to send instead."""


class VersionUnsupported(TusError):
    """The client speaks another tus version."""

    status_code = 412
    code = "tus_version_unsupported"


class OffsetMismatch(TusError):
    """The chunk does not start where the upload stands (resume from HEAD's offset)."""

    status_code = 409
    code = "upload_offset_mismatch"


class UploadTooLarge(TusError):
    """The declared file is above the size limit."""

    status_code = 413
    code = "upload_too_large"


class WrongContentType(TusError):
    """A PATCH body that is not application/offset+octet-stream."""

    status_code = 415
    code = "unsupported_media_type"


class ChecksumMismatch(TusError):
    """The chunk's bytes do not match its Upload-Checksum; it was discarded."""

    status_code = 460  # defined by the tus checksum extension
    code = "checksum_mismatch"


class UploadLocked(TusError):
    """Another request is writing the same upload."""

    status_code = 423
    code = "upload_locked"


@dataclass(frozen=True)
class Checksum:
    """A client's ``Upload-Checksum``: algorithm name and the expected digest."""

    algorithm: str
    digest: bytes

    def hasher(self) -> hashlib._Hash:
        """Return a fresh hash object of the algorithm."""
        return hashlib.new(self.algorithm)


def check_version(value: str | None) -> None:
    """Refuse requests that do not speak tus 1.0.0."""
    if value != TUS_VERSION:
        raise VersionUnsupported(f"Send the header Tus-Resumable: {TUS_VERSION}.")


def parse_length(value: str | None, limit: int) -> int:
    """Return a valid ``Upload-Length``, refusing one above ``limit`` with 413."""
    if value is None or not value.isdigit():
        raise TusError("Send Upload-Length: the size of the whole file in bytes.")
    length = int(value)
    if length > limit:
        raise UploadTooLarge(
            f"The file is {length} bytes; uploads are limited to {limit} bytes "
            f"({limit // 2**20} MiB). Split it into several files or zips."
        )
    return length


def parse_offset(value: str | None) -> int:
    """Return the ``Upload-Offset`` of a PATCH."""
    if value is None or not value.isdigit():
        raise TusError("Send Upload-Offset: the byte position this chunk starts at.")
    return int(value)


def parse_metadata(value: str | None) -> dict[str, str]:
    """Decode ``Upload-Metadata`` (comma-separated ``key base64value`` pairs)."""
    if not value:
        return {}
    if len(value) > MAX_METADATA_CHARS:
        raise TusError(f"Upload-Metadata is longer than {MAX_METADATA_CHARS} characters.")
    metadata: dict[str, str] = {}
    for pair in value.split(","):
        key, _, encoded = pair.strip().partition(" ")
        if not key:
            raise TusError("Upload-Metadata has an empty key.")
        try:
            metadata[key] = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise TusError(f"Upload-Metadata value of {key!r} is not base64 UTF-8.") from exc
    return metadata


def parse_checksum(value: str | None) -> Checksum | None:
    """Decode ``Upload-Checksum`` ("sha256 <base64 digest>"), or None when absent."""
    if value is None:
        return None
    algorithm, _, encoded = value.strip().partition(" ")
    algorithm = algorithm.lower()
    if algorithm not in CHECKSUM_ALGORITHMS:
        raise TusError(
            f"Checksum algorithm {algorithm!r} is not supported; use one of "
            f"{', '.join(CHECKSUM_ALGORITHMS)}."
        )
    try:
        digest = base64.b64decode(encoded.strip(), validate=True)
    except binascii.Error as exc:
        raise TusError("Upload-Checksum must be '<algorithm> <base64 digest>'.") from exc
    return Checksum(algorithm, digest)


@dataclass(frozen=True)
class BatchDeclaration:
    """The batch a file belongs to, from the ``batch`` and ``batch-files`` metadata."""

    key: str
    expected_files: int


def batch_of(metadata: dict[str, str]) -> BatchDeclaration | None:
    """Return the declared batch, or None for a file sent on its own."""
    key = metadata.get("batch")
    if key is None:
        return None
    if not BATCH_KEY.match(key):
        raise TusError("The batch id must be 1-64 letters, digits, '.', '_' or '-'.")
    count = metadata.get("batch-files", "")
    if not count.isdigit() or not 0 < int(count) <= 100_000:
        raise TusError("Declare how many files the batch holds: metadata batch-files=N (1-100000).")
    return BatchDeclaration(key, int(count))
