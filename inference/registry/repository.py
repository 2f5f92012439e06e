"""Write a model version into a Triton model repository: a local folder or an ``s3://`` prefix.

Layout (what Triton serves, locally and from NVIDIA's container in production)::

    <root>/<name>/config.pbtxt                 generated from the manifest
    <root>/<name>/<version>/...                the files of ``triton.model_dir``
    <root>/<name>/<version>/radbridge-manifest.json   the manifest, to check later versions
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol
from urllib.parse import urlparse

import boto3

from inference.registry.config_pbtxt import render, signature
from services.kit.settings import StorageSettings
from services.model_registry.manifest import ManifestError, ModelManifest, parse_manifest

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

MANIFEST_FILE = "radbridge-manifest.json"
_SKIP = {"__pycache__", "config.pbtxt", MANIFEST_FILE}


class RepositoryConflict(Exception):
    """The repository already serves this model name with other tensors."""


class RepositoryTarget(Protocol):
    """Where model folders are written."""

    @property
    def uri(self) -> str:
        """Return the repository's address."""
        ...

    def read(self, key: str) -> bytes | None:
        """Return the bytes at ``key`` (relative to the root), or None if absent."""
        ...

    def keys(self, prefix: str) -> list[str]:
        """Return every key under ``prefix``."""
        ...

    def write(self, files: Mapping[str, bytes], *, replace_prefix: str | None = None) -> None:
        """Write ``files``; first remove everything under ``replace_prefix`` if given."""
        ...


@dataclass
class LocalRepository:
    """A model repository folder on this machine (or a mounted volume)."""

    root: Path

    @property
    def uri(self) -> str:
        """Return the folder as the repository's address."""
        return str(self.root)

    def read(self, key: str) -> bytes | None:
        """Return a file's bytes, or None."""
        path = self.root / key
        return path.read_bytes() if path.is_file() else None

    def keys(self, prefix: str) -> list[str]:
        """Return every file under ``prefix``."""
        base = self.root / prefix
        if not base.is_dir():
            return []
        return sorted(str(p.relative_to(self.root)) for p in base.rglob("*") if p.is_file())

    def write(self, files: Mapping[str, bytes], *, replace_prefix: str | None = None) -> None:
        """Write files; a replaced folder is staged then swapped so Triton never sees half."""
        if replace_prefix is not None:
            staging = self.root / f"{replace_prefix}.staging"
            shutil.rmtree(staging, ignore_errors=True)
            for key, data in files.items():
                if key.startswith(replace_prefix + "/"):
                    target = staging / key[len(replace_prefix) + 1 :]
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(data)
            final = self.root / replace_prefix
            shutil.rmtree(final, ignore_errors=True)
            final.parent.mkdir(parents=True, exist_ok=True)
            staging.rename(final)
        for key, data in files.items():
            if replace_prefix is None or not key.startswith(replace_prefix + "/"):
                path = self.root / key
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(data)


@dataclass
class S3Repository:
    """A model repository under ``s3://bucket/prefix`` (Triton reads it directly in production)."""

    bucket: str
    prefix: str
    client: S3Client

    @property
    def uri(self) -> str:
        """Return the ``s3://`` address."""
        return f"s3://{self.bucket}/{self.prefix}".rstrip("/")

    def _key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def read(self, key: str) -> bytes | None:
        """Return an object's bytes, or None."""
        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=self._key(key))
        except self.client.exceptions.NoSuchKey:
            return None
        return answer["Body"].read()

    def keys(self, prefix: str) -> list[str]:
        """Return every key under ``prefix``, relative to the repository root."""
        found: list[str] = []
        strip = len(self._key(""))
        for page in self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self._key(prefix)
        ):
            found += [item["Key"][strip:] for item in page.get("Contents", [])]
        return sorted(found)

    def write(self, files: Mapping[str, bytes], *, replace_prefix: str | None = None) -> None:
        """Upload files, after deleting stale objects of a replaced version folder."""
        if replace_prefix is not None:
            stale = set(self.keys(replace_prefix + "/")) - set(files)
            for key in sorted(stale):
                self.client.delete_object(Bucket=self.bucket, Key=self._key(key))
        # Version files first, config last: Triton polling sees a config only with its files.
        for key in sorted(files, key=lambda k: k.endswith("config.pbtxt")):
            self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=files[key])


def open_repository(uri: str, storage: StorageSettings) -> RepositoryTarget:
    """Open ``uri``: a folder path, or ``s3://bucket/prefix`` with the object-store credentials."""
    if not uri.startswith("s3://"):
        return LocalRepository(Path(uri))
    parsed = urlparse(uri)
    client = boto3.client(
        "s3",
        endpoint_url=storage.s3_endpoint_url,
        region_name=storage.s3_region,
        aws_access_key_id=storage.s3_access_key_id.get_secret_value()
        if storage.s3_access_key_id
        else None,
        aws_secret_access_key=storage.s3_secret_access_key.get_secret_value()
        if storage.s3_secret_access_key
        else None,
    )
    return S3Repository(parsed.netloc, parsed.path.strip("/"), client)


def missing_files(manifest: ModelManifest, manifest_dir: Path) -> list[str]:
    """Return the ``triton.required_files`` absent from the version's model folder."""
    source = manifest_dir / manifest.triton.model_dir
    return [name for name in manifest.triton.required_files if not (source / name).is_file()]


def _version_files(manifest: ModelManifest, manifest_dir: Path) -> dict[str, bytes]:
    source = manifest_dir / manifest.triton.model_dir
    if not source.is_dir() or not any(source.iterdir()):
        raise ManifestError(
            str(source), ["triton.model_dir: no such folder, or it is empty (model files go here)"]
        )
    missing = missing_files(manifest, manifest_dir)
    if missing:
        raise ManifestError(
            str(source),
            [
                f"triton.required_files: {name} is not in {manifest.triton.model_dir} "
                "(files not shipped with the model, e.g. licensed weights, go there first)"
                for name in missing
            ],
        )
    return {
        str(p.relative_to(source)): p.read_bytes()
        for p in sorted(source.rglob("*"))
        if p.is_file() and not (_SKIP & set(p.relative_to(source).parts)) and p.suffix != ".pyc"
    }


def served_versions(target: RepositoryTarget, name: str) -> dict[str, ModelManifest]:
    """Return the versions of ``name`` in the repository that carry a RadBridge manifest."""
    found: dict[str, ModelManifest] = {}
    for key in target.keys(f"{name}/"):
        parts = key.split("/")
        if len(parts) == 3 and parts[2] == MANIFEST_FILE:
            raw = target.read(key)
            if raw is not None:
                found[parts[1]] = parse_manifest(json.loads(raw), source=key)
    return found


def publish(manifest: ModelManifest, manifest_dir: Path, target: RepositoryTarget) -> list[str]:
    """Write the version's files and the model's generated config; return served versions.

    Raises RepositoryConflict if other served versions have different tensors.
    """
    files = _version_files(manifest, manifest_dir)
    others = {
        v: m for v, m in served_versions(target, manifest.name).items() if v != manifest.version
    }
    for version, other in others.items():
        if signature(other) != signature(manifest):
            raise RepositoryConflict(
                f"{manifest.name} v{version} in {target.uri} has other tensors or batching; "
                "Triton serves one signature per model name: give this model a new name."
            )
    versions = sorted({*others, manifest.version}, key=int)
    prefix = f"{manifest.name}/{manifest.version}"
    payload = {f"{prefix}/{key}": data for key, data in files.items()}
    body = json.dumps(manifest.model_dump(mode="json", by_alias=True), ensure_ascii=False, indent=1)
    payload[f"{prefix}/{MANIFEST_FILE}"] = body.encode()
    payload[f"{manifest.name}/config.pbtxt"] = render(manifest, versions).encode()
    target.write(payload, replace_prefix=prefix)
    return versions
