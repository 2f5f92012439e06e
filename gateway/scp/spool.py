"""Store-and-forward for the SCP: an acknowledged C-STORE waits on disk until Orthanc holds it.

DCMTK and most modalities send the next instance only after the C-STORE response. Answering
only once Orthanc had stored the instance put Orthanc's whole write latency between every two
instances (issue 3, P3: 0.25x raw Orthanc C-STORE). Here the admitted bytes are appended to a
spool segment first (``gateway/scp/segments.py``), the C-STORE is answered, and forwarder
threads store spooled instances into Orthanc while the next ones arrive. A record counts as
delivered only once Orthanc holds the instance and its owner is recorded, or once it is
quarantined; what a crash left is forwarded at the next start. If Orthanc is down, records wait
and are retried with backoff: nothing a modality was told is stored gets lost (the spool is as
durable as Orthanc's own storage area: written, not fsynced). ``drain`` waits until the spool
is empty, for an orderly stop and for tests.
"""

from __future__ import annotations

import functools
import json
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from gateway.scp.segments import (
    DEFAULT_SEGMENT_BYTES,
    Census,
    Record,
    SegmentReader,
    SegmentWriter,
    has_segments,
    seal_abandoned,
)

log = logging.getLogger("radbridge.scp")


@dataclass(frozen=True)
class Sent:
    """Who sent a spooled instance: what noting its owner or quarantining it needs."""

    ae_title: str
    tenant_id: str
    organization_id: str
    node_id: str


class Retry(Exception):
    """The delivery could not be done now (Orthanc or the database is down): keep the record."""


Deliver = Callable[[bytes, Sent], None]
_SCAN_BUSY_S, _SCAN_IDLE_S = 0.002, 0.05  # how often another process's segments are read


@dataclass(frozen=True)
class _Job:
    record: Record
    sent: Sent
    attempt: int = 0


class Spool:
    """A folder of admitted instances and the threads that forward them.

    ``deliver(data, sent)`` stores one instance for good (or quarantines it); it raises
    :class:`Retry` when that cannot be done now. ``max_pending`` bounds disk and the forwarders'
    queue: a C-STORE waits while that many instances are undelivered, which slows the sender
    instead of piling up files.

    With ``deliver=None`` this spool only writes, and another process forwards the folder
    (:meth:`forward_folder`).
    """

    def __init__(  # noqa: PLR0913 - the folder, its forwarder, and tuning knobs
        self,
        folder: Path,
        deliver: Deliver | None,
        *,
        workers: int = 2,
        max_pending: int = 64,
        retry_base_s: float = 0.5,
        retry_max_s: float = 30.0,
        segment_bytes: int = DEFAULT_SEGMENT_BYTES,
    ) -> None:
        self.folder = folder
        self._deliver = deliver
        self._workers = workers
        self._max_pending = max_pending
        self._retry_base_s = retry_base_s
        self._retry_max_s = retry_max_s
        self._writer = SegmentWriter(folder, segment_bytes)
        self._census = Census(folder)
        self._counted = 0  # undelivered at the last count, plus what was written since
        self._jobs: queue.Queue[_Job | None] = queue.Queue()
        self._room = threading.BoundedSemaphore(max_pending)
        self._wake = threading.Event()  # something was written or delivered
        self._threads: list[threading.Thread] = []
        self._stopping = threading.Event()
        self._forwarding: threading.Thread | None = None

    @property
    def forwards(self) -> bool:
        """Return whether this process forwards what it spools (else another process does)."""
        return self._deliver is not None

    def start(self) -> int:
        """Seal what an earlier run left, start forwarding it; return how many wait.

        A writer-only spool starts no thread; the count is what waits for the other process.
        """
        self.folder.mkdir(parents=True, exist_ok=True)
        seal_abandoned(self.folder)
        left = self._counted = self._census.pending()
        if self.forwards:
            self._stopping.clear()
            self._forwarding = threading.Thread(
                target=self.forward_folder, args=(self._stopping,), name="scp-spool", daemon=True
            )
            self._forwarding.start()
            if left:
                log.info("forwarding %d instance(s) spooled before the last stop", left)
        return left

    def put(self, data: bytes, sent: Sent) -> None:
        """Append ``data`` to the spool; returns once it is in the spool whole."""
        self._wait_for_room()
        self._writer.append(_header(sent), data)
        self._counted += 1
        self._wake.set()

    def _wait_for_room(self) -> None:
        """Block while ``max_pending`` instances are undelivered (counted only when it may)."""
        while self._counted >= self._max_pending:
            self._counted = self._census.pending()
            if self._counted >= self._max_pending:
                time.sleep(_SCAN_BUSY_S)

    def drain(self, timeout_s: float = 30.0) -> bool:
        """Wait until every spooled instance is delivered; return False on timeout."""
        self._writer.seal()  # a sealed, delivered segment is removed
        self._wake.set()
        deadline = time.monotonic() + timeout_s
        while has_segments(self.folder):
            if time.monotonic() >= deadline:
                return False
            time.sleep(_SCAN_BUSY_S)
        return True

    @property
    def pending(self) -> int:
        """Return how many spooled instances are not yet delivered."""
        return self._census.pending()

    def forward_folder(
        self, stop: threading.Event, *, give_up: Callable[[], bool] = lambda: False
    ) -> None:
        """Forward every instance spooled here until ``stop`` (or ``give_up()``).

        Segments are read every 2 ms while instances keep coming and every 50 ms when idle
        (at once when this process spooled one); what an earlier run left is simply found
        first. Deliveries under way finish before this returns; what is not delivered stays
        for the next start.
        """
        self.folder.mkdir(parents=True, exist_ok=True)
        reader = SegmentReader(self.folder)
        self._start_workers(reader)
        try:
            while not stop.is_set() and not give_up():
                try:
                    found = self._queue_new_records(reader, stop)
                    reader.collect()
                except OSError as exc:  # the folder gone or unreadable: keep trying, never die
                    log.error("spool folder %s cannot be read (%s); trying again", self.folder, exc)
                    found = 0
                self._wake.wait(_SCAN_BUSY_S if found else _SCAN_IDLE_S)
                self._wake.clear()
        finally:
            self._stop_workers()
            reader.close()

    def _queue_new_records(self, reader: SegmentReader, stop: threading.Event) -> int:
        found = 0
        for record in reader.records():
            try:
                sent = Sent(**json.loads(record.header))
            except (ValueError, TypeError) as exc:
                reader.set_aside(record, f"no readable sender ({exc})")
                continue
            # At most max_pending ahead of the deliveries (Orthanc down: retries hold them all).
            while not self._room.acquire(timeout=_SCAN_IDLE_S):
                if stop.is_set():
                    return found  # handed out but not queued: the next start finds it again
            self._jobs.put(_Job(record, sent))
            found += 1
        return found

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop forwarding after the current deliveries; undelivered instances stay on disk."""
        self._writer.seal()
        self._stopping.set()
        self._wake.set()
        if self._forwarding is not None:
            self._forwarding.join(timeout_s)
            self._forwarding = None

    def _start_workers(self, reader: SegmentReader) -> None:
        for number in range(self._workers):
            thread = threading.Thread(
                target=self._work, args=(reader,), name=f"scp-forward-{number}", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def _stop_workers(self, timeout_s: float = 10.0) -> None:
        for _ in self._threads:
            self._jobs.put(None)
        for thread in self._threads:
            thread.join(timeout_s)
        self._threads.clear()

    def _work(self, reader: SegmentReader) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            assert self._deliver is not None  # only forwarding spools start workers
            try:
                self._deliver(reader.data(job.record), job.sent)
            except Retry as exc:
                self._retry_later(job, str(exc))
                continue
            except Exception:  # a bug must not take the forwarder down: keep it, retry
                log.exception("forwarding %s failed; retrying", _name(job.record))
                self._retry_later(job, "unexpected error")
                continue
            reader.delivered(job.record)
            self._room.release()
            self._wake.set()

    def _retry_later(self, job: _Job, why: str) -> None:
        delay = min(self._retry_base_s * 2**job.attempt, self._retry_max_s)
        log.warning("spooled %s not forwarded (%s); retry in %.1f s", _name(job.record), why, delay)
        retry = _Job(job.record, job.sent, job.attempt + 1)
        timer = threading.Timer(delay, self._jobs.put, args=(retry,))
        timer.daemon = True
        timer.start()


@functools.lru_cache(maxsize=256)
def _header(sent: Sent) -> bytes:
    """Return a record's header; one per sending node, so it is encoded once."""
    return json.dumps(asdict(sent)).encode()


def _name(record: Record) -> str:
    return f"{record.stem}@{record.offset}"
