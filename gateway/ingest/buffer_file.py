"""Read a part of a larger buffer as a file, without copying it out first.

A STOW-RS body holds every part; ``io.BytesIO`` shares a ``bytes`` object's memory but copies
anything else, so a 15 MB radiograph sliced out of the body as a ``memoryview`` would be copied
just to let pydicom read its header.
"""

from __future__ import annotations

import io
from typing import BinaryIO

Buffer = bytes | bytearray | memoryview


class BufferFile(io.RawIOBase):
    """A read-only, seekable file over a buffer; reads return copies of what they read only."""

    def __init__(self, data: Buffer) -> None:
        super().__init__()
        self._view = memoryview(data).cast("B")
        self._at = 0

    def readable(self) -> bool:
        """Return True: it can be read."""
        return True

    def seekable(self) -> bool:
        """Return True: pydicom seeks back over elements it peeked at."""
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        """Copy the next bytes into ``buffer``; return how many."""
        count = max(0, min(len(buffer), len(self._view) - self._at))
        buffer[:count] = self._view[self._at : self._at + count]
        self._at += count
        return count

    def read(self, size: int | None = -1) -> bytes:
        """Return the next ``size`` bytes (all that is left for a negative size)."""
        end = len(self._view) if size is None or size < 0 else min(len(self._view), self._at + size)
        start, self._at = self._at, max(self._at, end)
        return self._view[start:end].tobytes()

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        """Move to ``offset`` from the start, the current position or the end."""
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._at, io.SEEK_END: len(self._view)}[whence]
        if base + offset < 0:
            raise ValueError("negative seek position")
        self._at = base + offset
        return self._at

    def tell(self) -> int:
        """Return the position."""
        return self._at


def open_buffer(data: Buffer) -> BinaryIO:
    """Return a file over ``data``: ``BytesIO`` for ``bytes`` (it shares them), else a view."""
    if isinstance(data, bytes):
        return io.BytesIO(data)
    return BufferFile(data)  # type: ignore[return-value]
