"""Uploads in progress, on disk under the state folder, so either side may restart.

Each upload is a folder ``<root>/<id>/`` with ``data`` (the bytes so far) and ``info.json``
(owner, declared length, the offset, metadata, outcome). ``info.json`` is replaced atomically
after the data is fsynced, so the offset never claims bytes the disk does not hold; bytes past
the offset (a write cut short by a crash) are cut off before the next write.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from gateway.upload.protocol import UploadLocked
from services.kit.clock import utc_now
from services.kit.errors import NotFound

_UPLOAD_ID = re.compile(r"^[0-9a-f]{32}$")
RECEIVING, RECEIVED, STORED, REJECTED = "receiving", "received", "stored", "rejected"


@dataclass
class UploadInfo:
    """Everything the server knows about one upload besides its bytes."""

    id: str
    tenant_id: str
    organization_id: str
    created_by: str
    length: int
    metadata: dict[str, str]
    offset: int = 0
    state: str = RECEIVING
    created_at: str = field(default_factory=lambda: utc_now().isoformat())
    outcome: dict[str, Any] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        """Return whether every declared byte has arrived."""
        return self.offset >= self.length


class UploadStore:
    """The folder of uploads; all methods are safe across processes through ``flock``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def _folder(self, upload_id: str) -> Path:
        return self.root / upload_id

    def data_path(self, info: UploadInfo) -> Path:
        """Return the file holding the upload's bytes."""
        return self._folder(info.id) / "data"

    def create(
        self,
        *,
        tenant_id: uuid.UUID,
        organization_id: uuid.UUID,
        created_by: str,
        length: int,
        metadata: dict[str, str],
        upload_id: str | None = None,
    ) -> UploadInfo:
        """Start an empty upload and return it.

        With ``upload_id`` (derived from the client's file fingerprint) a repeated creation
        returns the upload already started under that id instead of a second one: a client
        killed between "created" and "remembered the URL" resumes the same upload.
        """
        if upload_id is not None:
            existing = self.load(upload_id)
            if existing is not None:
                return existing
        info = UploadInfo(
            id=upload_id or uuid.uuid4().hex,
            tenant_id=str(tenant_id),
            organization_id=str(organization_id),
            created_by=created_by,
            length=length,
            metadata=metadata,
        )
        folder = self._folder(info.id)
        try:
            folder.mkdir()
        except FileExistsError:  # created a moment ago by a concurrent request, or half by a crash
            for _ in range(10):
                time.sleep(0.05)
                raced = self.load(info.id)
                if raced is not None:
                    return raced
            # No info.json after half a second: a gateway killed between mkdir and save left
            # the folder. Finish creating it, else this upload id would fail for good.
        (folder / "data").touch()
        self.save(info)
        return info

    def load(self, upload_id: str) -> UploadInfo | None:
        """Return the upload, or None when the id is unknown or malformed."""
        if not _UPLOAD_ID.match(upload_id):
            return None
        try:
            raw = json.loads((self._folder(upload_id) / "info.json").read_text("utf-8"))
        except (OSError, ValueError):
            return None
        return UploadInfo(**raw)

    def save(self, info: UploadInfo) -> None:
        """Replace ``info.json`` atomically (write, fsync, rename)."""
        folder = self._folder(info.id)
        tmp = folder / "info.json.tmp"
        with tmp.open("w", encoding="utf-8") as out:
            json.dump(asdict(info), out)
            out.flush()
            os.fsync(out.fileno())
        tmp.replace(folder / "info.json")

    def sweep(self, max_idle_s: float) -> int:
        """Remove uploads untouched for ``max_idle_s`` (abandoned, or long finished)."""
        now = time.time()
        removed = 0
        for folder in self.root.iterdir():
            try:
                idle = now - (folder / "info.json").stat().st_mtime
            except OSError:
                continue
            if idle > max_idle_s and _UPLOAD_ID.match(folder.name):
                shutil.rmtree(folder, ignore_errors=True)
                removed += 1
        return removed

    def delete(self, info: UploadInfo) -> None:
        """Remove the upload and its bytes."""
        shutil.rmtree(self._folder(info.id), ignore_errors=True)

    @contextmanager
    def locked(self, upload_id: str) -> Iterator[None]:
        """Hold the upload's lock, or refuse at once (423) when another request holds it."""
        try:
            handle = (self._folder(upload_id) / "lock").open("a")
        except FileNotFoundError as exc:  # terminated meanwhile
            raise NotFound("No such upload (it was terminated).") from exc
        with handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError as exc:
                raise UploadLocked(
                    "Another request is writing this upload; retry in a moment."
                ) from exc
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    @contextmanager
    def open_for_append(self, info: UploadInfo) -> Iterator[BinaryIO]:
        """Open the data file positioned at the offset, dropping any bytes beyond it."""
        with self.data_path(info).open("r+b") as data:
            data.truncate(info.offset)
            data.seek(info.offset)
            yield data

    def commit(self, info: UploadInfo, data: BinaryIO, written: int) -> None:
        """Make ``written`` new bytes durable, then advance the offset past them."""
        data.flush()
        os.fsync(data.fileno())
        info.offset += written
        if info.complete:
            info.state = RECEIVED
        self.save(info)
