"""Live worklist updates: changes are logged in the database and tailed by each API process.

``publish`` appends a ``worklist_event`` row in the transaction of the change (the gateway's
watcher, the inference worker and the API all do this), so an event becomes visible exactly
when the change commits and never for a change that rolled back. Each API process runs one
``Hub`` per database: a background thread that polls the log every ``POLL_S`` while someone
listens and hands each event to the subscribers of its hospital. See
docs/adr/0002-worklist-live-updates.md for why this beats Redis pub/sub or LISTEN/NOTIFY here.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session, object_session, sessionmaker

from services.kit.clock import utc_now
from services.kit.db import session_factory, session_scope
from services.kit.errors import AppError
from services.kit.settings import get_settings
from services.models import WorklistEvent, WorklistItem
from services.worklist import repository

log = logging.getLogger("radbridge.worklist.live")

POLL_S = 0.25
GAP_WAIT_S = 30.0  # an id skipped by a still-open transaction is looked for this long
KEEP_EVENTS = timedelta(hours=1)
QUEUE_SIZE = 1000
REPLAY_LIMIT = 1000  # more missed events than this: the client is told to reload instead


def publish(session: Session | None, item: WorklistItem, kind: str) -> None:
    """Log that ``item`` was created / reprioritized / claimed / released / reported."""
    session = session or object_session(item)
    if session is None:
        return
    if item.id is None:
        session.flush()
    repository.add_event(session, item, kind)


@dataclass(frozen=True)
class LiveEvent:
    """What a listener receives: ids, status and priority only, never patient data."""

    id: int
    kind: str
    item_id: uuid.UUID
    status: str
    priority: int

    def payload(self) -> dict[str, Any]:
        """Return the JSON body of the server-sent event."""
        return {
            "item_id": str(self.item_id),
            "kind": self.kind,
            "status": self.status,
            "priority": self.priority,
        }

    def sse(self) -> dict[str, str]:
        """Return the event as sse-starlette fields (its id is what Last-Event-ID sends back)."""
        return {"event": self.kind, "id": str(self.id), "data": json.dumps(self.payload())}

    @classmethod
    def of(cls, row: WorklistEvent) -> LiveEvent:
        """Return the event of a log row."""
        return cls(row.id, row.kind, row.item_id, row.status, row.priority)


@dataclass(eq=False)
class Subscription:
    """One listener: its hospital, and the queue its event loop reads."""

    tenant_id: uuid.UUID
    reader_org_id: uuid.UUID
    loop: asyncio.AbstractEventLoop
    queue: asyncio.Queue[LiveEvent] = field(
        default_factory=lambda: asyncio.Queue(maxsize=QUEUE_SIZE)
    )
    dropped: int = 0

    def offer(self, event: LiveEvent) -> None:
        """Queue an event (runs on the subscriber's loop); a full queue drops it."""
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            self.dropped += 1


class Hub:
    """Tails the event log of one database and fans events out to subscribers."""

    def __init__(self, factory: sessionmaker[Session]) -> None:
        self._factory = factory
        self._lock = threading.Lock()
        self._subs: set[Subscription] = set()
        self._thread: threading.Thread | None = None
        self._last = 0
        self._gaps: dict[int, float] = {}

    @property
    def factory(self) -> sessionmaker[Session]:
        """Return the session factory of the hub's database."""
        return self._factory

    def subscribe(
        self, *, tenant_id: uuid.UUID, reader_org_id: uuid.UUID, loop: asyncio.AbstractEventLoop
    ) -> Subscription:
        """Register a listener; events committed from now on reach it."""
        sub = Subscription(tenant_id=tenant_id, reader_org_id=reader_org_id, loop=loop)
        with self._lock:
            if self._thread is None:
                with self._factory() as session:
                    self._last = repository.last_event_id(session)
                self._gaps.clear()
                self._thread = threading.Thread(target=self._run, name="worklist-live", daemon=True)
                self._thread.start()
            self._subs.add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        """Forget a listener; the poller stops when nobody listens."""
        with self._lock:
            self._subs.discard(sub)

    def _run(self) -> None:
        pruned = 0.0
        while True:
            with self._lock:
                if not self._subs:
                    self._thread = None
                    return
            try:
                self._poll()
                if time.monotonic() - pruned > 300:
                    with session_scope(self._factory) as session:
                        repository.prune_events(session, older_than=utc_now() - KEEP_EVENTS)
                    pruned = time.monotonic()
            except Exception:
                log.exception("worklist live poll failed; retrying")
            time.sleep(POLL_S)

    def _poll(self) -> None:
        now = time.monotonic()
        self._gaps = {i: t for i, t in self._gaps.items() if t > now}
        with self._factory() as session:
            rows = repository.events_after(
                session, after_id=self._last, also_ids=sorted(self._gaps), limit=1000
            )
        for row in rows:
            if row.id > self._last:
                # Ids between the last seen and this one may belong to open transactions.
                for missing in range(self._last + 1, min(row.id, self._last + 10_000)):
                    self._gaps[missing] = now + GAP_WAIT_S
                self._last = row.id
            self._gaps.pop(row.id, None)
            self._deliver(row)

    def _deliver(self, row: WorklistEvent) -> None:
        event = LiveEvent.of(row)
        with self._lock:
            targets = [
                s
                for s in self._subs
                if s.tenant_id == row.tenant_id and s.reader_org_id == row.reader_org_id
            ]
        for sub in targets:
            try:
                sub.loop.call_soon_threadsafe(sub.offer, event)
            except RuntimeError:  # the subscriber's loop is closed
                self.unsubscribe(sub)


_HUBS: dict[str, Hub] = {}
_HUBS_LOCK = threading.Lock()


def hub() -> Hub:
    """Return this process's hub for the configured database."""
    url = get_settings().database_url
    with _HUBS_LOCK:
        if url not in _HUBS:
            _HUBS[url] = Hub(session_factory())
        return _HUBS[url]


class InvalidLastEventId(AppError):
    """The Last-Event-ID header is not an event id this stream sent."""

    status_code = 400
    code = "invalid_last_event_id"


def parse_last_event_id(value: str | None) -> int | None:
    """Return the event id a reconnecting client last saw (None: a fresh connection)."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if not text.isdecimal() or len(text) > 18:
        raise InvalidLastEventId(
            "Last-Event-ID must be the id of an event this stream sent (a whole number); "
            "reconnect without it to start fresh."
        )
    return int(text)


@dataclass(frozen=True)
class Replay:
    """The logged events a reconnecting client missed, or ``complete=False`` if some are gone."""

    events: list[LiveEvent]
    complete: bool


def missed_events(
    factory: sessionmaker[Session], *, tenant_id: uuid.UUID, reader_org_id: uuid.UUID, after: int
) -> Replay:
    """Return one hospital's events after ``after`` from the log (kept ``KEEP_EVENTS``)."""
    with factory() as session:
        oldest = repository.oldest_event_id(session)
        rows = repository.reader_events_after(
            session,
            tenant_id=tenant_id,
            reader_org_id=reader_org_id,
            after_id=after,
            limit=REPLAY_LIMIT + 1,
        )
    # Ids below the oldest kept one were pruned: the client may have missed some of them.
    pruned = (oldest is None and after > 0) or (oldest is not None and oldest > after + 1)
    complete = not pruned and len(rows) <= REPLAY_LIMIT
    return Replay([LiveEvent.of(r) for r in rows[:REPLAY_LIMIT]], complete)


@dataclass(frozen=True)
class Listener:
    """One reading hospital's event stream: missed events first (if asked), then live ones."""

    tenant_id: uuid.UUID
    reader_org_id: uuid.UUID

    async def stream(self, after: int | None) -> AsyncIterator[dict[str, str]]:
        """Yield ``ready``, the events after ``after`` (or ``reset``), then live events."""
        source = hub()
        sub = await asyncio.to_thread(
            source.subscribe,
            tenant_id=self.tenant_id,
            reader_org_id=self.reader_org_id,
            loop=asyncio.get_running_loop(),
        )
        try:
            yield {"event": "ready", "data": "{}"}
            replayed: set[int] = set()
            if after is not None:
                replay = await asyncio.to_thread(
                    missed_events,
                    source.factory,
                    tenant_id=self.tenant_id,
                    reader_org_id=self.reader_org_id,
                    after=after,
                )
                if not replay.complete:
                    yield {"event": "reset", "data": json.dumps({"reason": "events_expired"})}
                for event in replay.events:
                    replayed.add(event.id)
                    yield event.sse()
            while True:
                event = await sub.queue.get()
                if event.id not in replayed:  # subscribed before the replay: may repeat
                    yield event.sse()
        finally:
            source.unsubscribe(sub)
