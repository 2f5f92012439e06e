"""Per-process caches of principals and reading-agreement scopes, revocable at once.

Re-reading the account, its roles and the hospital's reading agreements on every request cost
three database round trips and a few hundred microseconds of ORM work. Each entry here is tagged
with the access epoch it was read under (``services.models.access_epoch``): database triggers
move the epoch in the same transaction as any change to accounts, roles, machine clients or
reading agreements, so a request reads that one counter (a primary-key lookup) and uses the
cached entry only while the counter has not moved. A revoked role or a disabled account is
therefore refused on the very next request, in every API process.

Principals are keyed by a BLAKE2b digest of the bearer token, never the token itself; a hit
skips the RS256 verification too (that exact token was verified before), but the token's own
expiry is still checked on every use.
"""

from __future__ import annotations

import hashlib
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.engine.base import Connection
from sqlalchemy.orm import Session

from services.auth.principal import Principal
from services.models import AccessEpoch
from services.models.access_epoch import ROW_ID

MAX_ENTRIES = 4096
_MEMO = "radbridge.access_epoch"
_EPOCH_SQL = select(AccessEpoch.value).where(AccessEpoch.id == ROW_ID)

V = TypeVar("V")
K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True)
class _Entry(Generic[V]):
    value: V
    epoch: int
    expires_at: float | None  # unix seconds; None: no own expiry


class EpochCache(Generic[V]):
    """A bounded LRU map whose entries count only under the epoch they were stored with."""

    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self._entries: OrderedDict[Hashable, _Entry[V]] = OrderedDict()
        self._lock = threading.Lock()
        self._max = max_entries

    def get(self, key: Hashable, *, epoch: int, now: float) -> V | None:
        """Return the value stored under ``epoch`` and not expired at ``now``, else None."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if entry.epoch != epoch or (entry.expires_at is not None and now >= entry.expires_at):
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return entry.value

    def put(self, key: Hashable, value: V, *, epoch: int, expires_at: float | None = None) -> None:
        """Store ``value`` as read under ``epoch`` (a negative epoch is never cached)."""
        if epoch < 0:
            return
        with self._lock:
            self._entries[key] = _Entry(value, epoch, expires_at)
            self._entries.move_to_end(key)
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            self._entries.clear()


PRINCIPALS: EpochCache[Principal] = EpochCache()
CLINICS: EpochCache[frozenset[uuid.UUID]] = EpochCache()
LOCK_MINUTES: EpochCache[int] = EpochCache()  # per (reader hospital, clinic) agreement
DISPLAY_NAMES: EpochCache[str] = EpochCache()  # per user id


def token_key(session: Session, token: str) -> tuple[object, bytes]:
    """Return the cache key of a bearer token on this session's database."""
    return (_bind_of(session), hashlib.blake2b(token.encode(), digest_size=20).digest())


def _bind_of(session: Session) -> object:
    bind: Engine | Connection = session.get_bind()
    return bind.engine if isinstance(bind, Connection) else bind


def epoch(session: Session) -> int:
    """Return the access epoch, read once per transaction (-1 if the row is missing)."""
    transaction = session.get_transaction()
    memo = session.info.get(_MEMO)
    if memo is not None and transaction is not None and memo[0] is transaction:
        return int(memo[1])
    value = session.scalar(_EPOCH_SQL)
    current = -1 if value is None else int(value)
    session.info[_MEMO] = (session.get_transaction(), current)
    return current


def cached(session: Session, cache: EpochCache[V], key: Hashable, load: Callable[[], V]) -> V:
    """Return ``cache[key]`` while the access epoch holds, else ``load()`` it and keep it.

    Only for facts that the access-epoch triggers cover (accounts, roles, machine clients,
    reading agreements and their settings).
    """
    now_epoch = epoch(session)
    full_key = (_bind_of(session), key)
    hit = cache.get(full_key, epoch=now_epoch, now=0.0)
    if hit is not None:
        return hit
    value = load()
    cache.put(full_key, value, epoch=now_epoch)
    return value


def cached_many(
    session: Session,
    cache: EpochCache[V],
    keys: set[K],
    load: Callable[[set[K]], dict[K, V]],
) -> dict[K, V]:
    """Return ``cache`` values for ``keys``, loading all the missing ones in one call."""
    now_epoch, bind = epoch(session), _bind_of(session)
    found: dict[K, V] = {}
    for key in keys:
        hit = cache.get((bind, key), epoch=now_epoch, now=0.0)
        if hit is not None:
            found[key] = hit
    missing = keys - found.keys()
    if missing:
        loaded = load(missing)
        for key, value in loaded.items():
            cache.put((bind, key), value, epoch=now_epoch)
        found.update(loaded)
    return found


def clinics_read_by(
    session: Session, *, reader_org_id: uuid.UUID, load: Callable[[], list[uuid.UUID]]
) -> frozenset[uuid.UUID]:
    """Return the clinics a hospital reads for, from the cache while the epoch holds."""
    return cached(session, CLINICS, reader_org_id, lambda: frozenset(load()))


def clear() -> None:
    """Forget every cached principal and scope (tests, key rotation)."""
    PRINCIPALS.clear()
    CLINICS.clear()
    LOCK_MINUTES.clear()
    DISPLAY_NAMES.clear()
