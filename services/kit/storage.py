"""Object store port with a local-folder and an S3 adapter.

Keys are portable between backends: ``[A-Za-z0-9._/-]`` only, ``/``-separated, no empty, ``.`` or
``..`` segment, no leading ``/``. Both adapters record the SHA-256 of what was written and return it
in :class:`StoredObject`; :class:`S3Store` also verifies it on every read, because archived reports
must come back byte for byte as they were signed.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError, FlexibleChecksumError

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

    from services.kit.settings import StorageSettings

logger = logging.getLogger(__name__)

MAX_KEY_LENGTH = 1024  # S3's limit, in UTF-8 bytes; keys here are ASCII
SHA256_METADATA_KEY = "sha256"  # sent as x-amz-meta-sha256
_KEY_CHARS = re.compile(r"[A-Za-z0-9._/-]+")
# Codes an S3-compatible server answers when it does not implement flexible checksums.
_CHECKSUM_UNSUPPORTED = frozenset({"NotImplemented", "InvalidArgument", "InvalidRequest"})
_NOT_FOUND = frozenset({"404", "NoSuchKey", "NotFound"})
_NO_BUCKET = frozenset({"404", "NoSuchBucket", "NotFound"})


class ObjectNotFound(KeyError):
    """No object is stored under the key."""


class InvalidObjectKey(ValueError):
    """The key is not a safe, portable object key."""


class ObjectIntegrityError(RuntimeError):
    """The bytes read back do not match the SHA-256 recorded when they were written."""


@dataclass(frozen=True, slots=True)
class StoredObject:
    """What was written: the key, its size in bytes and its lowercase hex SHA-256."""

    key: str
    size: int
    sha256: str


class ObjectStore(Protocol):
    """Where archives, signed reports and AI results are kept."""

    def put(self, key: str, data: bytes, content_type: str) -> StoredObject:
        """Store ``data`` under ``key``, replacing any previous object."""
        ...

    def get(self, key: str) -> bytes:
        """Return the object's bytes, or raise ObjectNotFound."""
        ...

    def exists(self, key: str) -> bool:
        """Return whether an object is stored under ``key``."""
        ...

    def delete(self, key: str) -> None:
        """Remove the object; deleting a missing key is not an error."""
        ...


def validate_key(key: str) -> str:
    """Return ``key`` unchanged if it is a safe object key, else raise InvalidObjectKey."""
    if not key:
        raise InvalidObjectKey("object key is empty")
    if len(key) > MAX_KEY_LENGTH:
        raise InvalidObjectKey(f"object key is longer than {MAX_KEY_LENGTH} characters")
    if not _KEY_CHARS.fullmatch(key):
        bad = sorted({ch for ch in key if not _KEY_CHARS.fullmatch(ch)})
        raise InvalidObjectKey(
            f"object key {key!r} contains {bad!r}; only letters, digits and '._/-' are allowed"
        )
    if key.startswith("/"):
        raise InvalidObjectKey(f"object key {key!r} must be relative (no leading '/')")
    for segment in key.split("/"):
        if segment in ("", ".", ".."):
            raise InvalidObjectKey(f"object key {key!r} has an empty, '.' or '..' path segment")
    return key


def _sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _fsync_dir(directory: Path) -> None:
    # Make the rename itself durable: a signed report must survive a power cut once put() returns.
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class LocalDiskStore:
    """Objects as files under ``root``; each write is atomic (temp file, fsync, rename)."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def _path(self, key: str) -> Path:
        path = (self.root / validate_key(key)).resolve()
        # resolve() follows symlinks, so a link inside root cannot lead a write outside it.
        if path == self.root or not path.is_relative_to(self.root):
            raise InvalidObjectKey(f"object key {key!r} resolves outside the store root")
        return path

    def put(
        self,
        key: str,
        data: bytes,
        content_type: str,  # noqa: ARG002 - part of the port; a folder has nowhere to keep it
    ) -> StoredObject:
        """Store ``data`` under ``key``; ``content_type`` is not kept on disk."""
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        # '~' is not a key character, so no key can ever name a half-written temp file.
        tmp = path.with_name(f".{path.name}~{secrets.token_hex(8)}.tmp")
        try:
            with tmp.open("xb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            tmp.replace(path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        _fsync_dir(path.parent)
        return StoredObject(key=key, size=len(data), sha256=_sha256_hex(data))

    def get(self, key: str) -> bytes:
        """Return the object's bytes, or raise ObjectNotFound."""
        path = self._path(key)
        try:
            return path.read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise ObjectNotFound(key) from None

    def exists(self, key: str) -> bool:
        """Return whether an object is stored under ``key``."""
        return self._path(key).is_file()

    def delete(self, key: str) -> None:
        """Remove the object; deleting a missing key is not an error."""
        path = self._path(key)
        if path.is_file():
            path.unlink(missing_ok=True)


def _error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


class S3Store:
    """Objects in one S3 bucket (AWS, MinIO, Ceph ...), SHA-256 checked on every read.

    The digest always goes into user metadata (``x-amz-meta-sha256``). When the endpoint
    implements flexible checksums it is also sent as ``ChecksumSHA256``, so the server rejects a
    body damaged in transit; an endpoint that refuses it is remembered and written without.
    """

    def __init__(self, client: S3Client, bucket: str, *, flexible_checksums: bool = True) -> None:
        self.client = client
        self.bucket = bucket
        self.flexible_checksums = flexible_checksums

    @classmethod
    def from_settings(cls, settings: StorageSettings) -> S3Store:
        """Build a store from ``StorageSettings``; empty credentials use boto3's default chain."""
        key_id = settings.s3_access_key_id
        secret = settings.s3_secret_access_key
        client = boto3.client(
            "s3",
            endpoint_url=settings.s3_endpoint_url,
            region_name=settings.s3_region,
            aws_access_key_id=key_id.get_secret_value() if key_id else None,
            aws_secret_access_key=secret.get_secret_value() if secret else None,
            config=Config(
                # botocore >= 1.36 adds CRC32 to every upload by default, which several
                # S3-compatible servers reject; we send our own SHA-256 instead.
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
                retries={"mode": "standard", "max_attempts": 5},
            ),
        )
        return cls(client, settings.s3_bucket)

    def ensure_bucket(self) -> None:
        """Create the bucket if it does not exist yet."""
        try:
            self.client.head_bucket(Bucket=self.bucket)
            return
        except ClientError as error:
            if _error_code(error) not in _NO_BUCKET:
                raise
        region = self.client.meta.region_name
        try:
            if region and region != "us-east-1":
                self.client.create_bucket(
                    Bucket=self.bucket,
                    CreateBucketConfiguration={"LocationConstraint": region},  # type: ignore[typeddict-item]
                )
            else:
                self.client.create_bucket(Bucket=self.bucket)
        except ClientError as error:
            if _error_code(error) != "BucketAlreadyOwnedByYou":
                raise

    def put(self, key: str, data: bytes, content_type: str) -> StoredObject:
        """Store ``data`` under ``key``, replacing any previous object."""
        validate_key(key)
        digest = hashlib.sha256(data).digest()
        args: dict[str, Any] = {
            "Bucket": self.bucket,
            "Key": key,
            "Body": data,
            "ContentType": content_type,
            "Metadata": {SHA256_METADATA_KEY: digest.hex()},
        }
        if self.flexible_checksums:
            checked = {
                **args,
                "ChecksumAlgorithm": "SHA256",
                "ChecksumSHA256": base64.b64encode(digest).decode("ascii"),
            }
            try:
                self.client.put_object(**checked)
            except ClientError as error:
                if _error_code(error) not in _CHECKSUM_UNSUPPORTED:
                    raise
                logger.warning(
                    "s3 endpoint refused ChecksumSHA256; keeping the digest in metadata only",
                    extra={"bucket": self.bucket, "code": _error_code(error)},
                )
                self.flexible_checksums = False
            else:
                return StoredObject(key=key, size=len(data), sha256=digest.hex())
        self.client.put_object(**args)
        return StoredObject(key=key, size=len(data), sha256=digest.hex())

    def get(self, key: str) -> bytes:
        """Return the object's bytes after checking them against the recorded SHA-256.

        Raises
        ------
        ObjectNotFound
            Nothing is stored under ``key``.
        ObjectIntegrityError
            No digest was recorded, or the bytes do not match it.
        """
        validate_key(key)
        extra: dict[str, Any] = {"ChecksumMode": "ENABLED"} if self.flexible_checksums else {}
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=key, **extra)
            data = response["Body"].read()
        except ClientError as error:
            if _error_code(error) in _NOT_FOUND:
                raise ObjectNotFound(key) from None
            raise
        except FlexibleChecksumError as error:
            raise ObjectIntegrityError(
                f"s3://{self.bucket}/{key}: server checksum does not match the body read"
            ) from error
        expected = response.get("Metadata", {}).get(SHA256_METADATA_KEY)
        if not expected:
            raise ObjectIntegrityError(
                f"s3://{self.bucket}/{key} has no recorded SHA-256; it was not written by "
                "this store or its metadata was lost"
            )
        actual = _sha256_hex(data)
        if actual != expected.lower():
            raise ObjectIntegrityError(
                f"s3://{self.bucket}/{key} is corrupted: SHA-256 {actual} != recorded {expected}"
            )
        return data

    def exists(self, key: str) -> bool:
        """Return whether an object is stored under ``key``."""
        validate_key(key)
        try:
            self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as error:
            if _error_code(error) in _NOT_FOUND:
                return False
            raise
        return True

    def delete(self, key: str) -> None:
        """Remove the object; deleting a missing key is not an error."""
        validate_key(key)
        self.client.delete_object(Bucket=self.bucket, Key=key)


def build_object_store(settings: StorageSettings, default_root: Path) -> ObjectStore:
    """Return the configured store: a folder (``local_root`` or ``default_root``) or S3."""
    if settings.backend == "local":
        return LocalDiskStore(settings.local_root or default_root)
    if settings.backend == "s3":
        return S3Store.from_settings(settings)
    raise ValueError(f"unknown storage backend {settings.backend!r}; expected 'local' or 's3'")
