"""The uploader's memory between runs: upload URLs by file fingerprint, and open batches.

Kept in one JSON file (default ``~/.radbridge/uploads.json``) and rewritten atomically after
every change, so a killed ``radbridge upload`` resumes each file at the server's offset and
continues the same batch instead of starting over. Files are sent by several threads at once,
so every read and change holds one lock: a save never sees a half-made change.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import uuid
from pathlib import Path
from typing import IO, Any

from tusclient.fingerprint.interface import Fingerprint
from tusclient.storage.interface import Storage

_EDGE = 1024 * 1024


def fingerprint_file(path: Path, name: str) -> str:
    """Return a fingerprint of a file: its name in the upload, size, first and last MiB."""
    size = path.stat().st_size
    digest = hashlib.sha256(f"{name}\0{size}\0".encode())
    with path.open("rb") as data:
        digest.update(data.read(_EDGE))
        if size > _EDGE:
            data.seek(max(_EDGE, size - _EDGE))
            digest.update(data.read(_EDGE))
    return f"sha256:{digest.hexdigest()}"


class NamedFingerprint(Fingerprint):
    """tuspy fingerprinter for one file, so the same bytes under another name count apart."""

    def __init__(self, path: Path, name: str) -> None:
        self._value = fingerprint_file(path, name)

    def get_fingerprint(self, fs: IO[bytes]) -> str:  # noqa: ARG002 - tuspy interface
        """Return the file's fingerprint (computed once, from its path)."""
        return self._value


class ResumeState(Storage):
    """The JSON state file; also tuspy's URL storage (fingerprint -> upload URL)."""

    def __init__(self, path: Path, server: str) -> None:
        self.path = path
        self.server = server.rstrip("/")
        self._data: dict[str, Any] = {"servers": {}}
        self._lock = threading.RLock()
        if path.exists():
            self._data = json.loads(path.read_text("utf-8"))

    def _mine(self) -> dict[str, Any]:
        servers: dict[str, Any] = self._data.setdefault("servers", {})
        mine: dict[str, Any] = servers.setdefault(
            self.server, {"urls": {}, "stored": {}, "batches": {}}
        )
        return mine

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        with tmp.open("w", encoding="utf-8") as out:
            json.dump(self._data, out, indent=1, sort_keys=True)
            out.flush()
            os.fsync(out.fileno())
        tmp.replace(self.path)

    # tuspy's Storage interface: the URL of a file's upload in progress.
    def get_item(self, key: str) -> str | None:
        """Return the upload URL of a fingerprint, if one was started."""
        with self._lock:
            url: str | None = self._mine()["urls"].get(key)
            return url

    def set_item(self, key: str, url: str) -> None:
        """Remember the upload URL of a fingerprint."""
        with self._lock:
            self._mine()["urls"][key] = url
            self._save()

    def remove_item(self, key: str) -> None:
        """Forget an upload URL (expired or refused on the server)."""
        with self._lock:
            self._mine()["urls"].pop(key, None)
            self._save()

    def is_stored(self, key: str) -> bool:
        """Return whether the file with this fingerprint was stored whole already."""
        with self._lock:
            return key in self._mine()["stored"]

    def mark_stored(self, key: str, url: str) -> None:
        """Remember that a file was stored whole (re-runs skip it)."""
        with self._lock:
            self._mine()["stored"][key] = url
            self._mine()["urls"].pop(key, None)
            self._save()

    def open_batch(self, root: str, names: list[str]) -> tuple[str, list[str]]:
        """Return the batch in progress for ``root`` (id, file names), or start one of ``names``."""
        with self._lock:
            batches: dict[str, Any] = self._mine()["batches"]
            current = batches.get(root)
            if current is None:
                current = {"key": f"b-{uuid.uuid4().hex}", "files": sorted(names)}
                batches[root] = current
                self._save()
            return str(current["key"]), list(current["files"])

    def open_batch_of(self, root: str) -> str | None:
        """Return the id of the batch in progress for ``root``, if any."""
        with self._lock:
            current = self._mine()["batches"].get(root)
            return None if current is None else str(current["key"])

    def close_batch(self, root: str) -> None:
        """Forget the finished batch of ``root``."""
        with self._lock:
            self._mine()["batches"].pop(root, None)
            self._save()
