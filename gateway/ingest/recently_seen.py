"""A small thread-safe memory of what this process looked up in the last minute.

Every instance of a study used to cost a database round trip or two (who owns the study, what
the uploading organization's defaults are) although the answer rarely changes within one
upload. Remembering answers for ``ttl_s`` seconds takes those trips off the ingest hot path; a
study purged from Orthanc and sent again after the TTL is noted afresh.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class RecentlySeen(Generic[K, V]):
    """A mapping whose entries expire ``ttl_s`` seconds after they were put."""

    def __init__(self, ttl_s: float = 60.0, limit: int = 10_000) -> None:
        self.ttl_s = ttl_s
        self._limit = limit
        self._entries: dict[K, tuple[float, V]] = {}
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        """Return the value put under ``key`` less than ``ttl_s`` ago, else None."""
        with self._lock:
            entry = self._entries.get(key)
        if entry is None or time.monotonic() - entry[0] >= self.ttl_s:
            return None
        return entry[1]

    def put(self, key: K, value: V) -> None:
        """Remember ``value`` under ``key``; the whole memory is dropped when it grows too big."""
        with self._lock:
            if len(self._entries) >= self._limit:
                self._entries.clear()
            self._entries[key] = (time.monotonic(), value)

    def clear(self) -> None:
        """Forget everything (tests, or a change that must be seen at once)."""
        with self._lock:
            self._entries.clear()
