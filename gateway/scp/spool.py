"""Store-and-forward for the SCP: an acknowledged C-STORE waits on disk until Orthanc holds it.

DCMTK and most modalities send the next instance only after the C-STORE response. Answering
only once Orthanc had stored the instance put Orthanc's whole write latency between every two
instances (issue 3, P3: 0.25x raw Orthanc C-STORE). Here the admitted bytes are written to a
spool folder first, the C-STORE is answered, and forwarder threads store spooled files into
Orthanc while the next instances arrive. A spooled file is removed only once Orthanc holds it
and its owner is recorded, or once it is quarantined; files left by a crash are forwarded at
the next start. If Orthanc is down, files wait and are retried with backoff: nothing a
modality was told is stored gets lost (the spool is as durable as Orthanc's own storage
area: written, not fsynced). ``drain`` waits until the spool is empty, for an orderly stop
and for tests.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import struct
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

log = logging.getLogger("radbridge.scp")


@dataclass(frozen=True)
class Sent:
    """Who sent a spooled instance: what noting its owner or quarantining it needs."""

    ae_title: str
    tenant_id: str
    organization_id: str
    node_id: str


class Retry(Exception):
    """The delivery could not be done now (Orthanc or the database is down): keep the file."""


Deliver = Callable[[bytes, Sent], None]
_SCAN_BUSY_S, _SCAN_IDLE_S = 0.002, 0.05  # how often another process's spool folder is read


@dataclass(frozen=True)
class _Job:
    path: Path
    sent: Sent
    attempt: int = 0


class Spool:
    """A folder of admitted instances and the threads that forward them.

    ``deliver(data, sent)`` stores one instance for good (or quarantines it); it raises
    :class:`Retry` when that cannot be done now. ``max_pending`` bounds memory and disk: a
    C-STORE waits for room, which slows the sender instead of piling up files.

    With ``deliver=None`` this spool only writes, and another process forwards the folder
    (:meth:`forward_folder`); what is pending is then what the folder holds.
    """

    def __init__(
        self,
        folder: Path,
        deliver: Deliver | None,
        *,
        workers: int = 2,
        max_pending: int = 64,
        retry_base_s: float = 0.5,
        retry_max_s: float = 30.0,
    ) -> None:
        self.folder = folder
        self._deliver = deliver
        self._workers = workers
        self._retry_base_s = retry_base_s
        self._retry_max_s = retry_max_s
        self._jobs: queue.Queue[_Job | None] = queue.Queue()
        self._room = threading.BoundedSemaphore(max_pending)
        self._pending = 0
        self._idle = threading.Condition()
        self._threads: list[threading.Thread] = []
        self._stopping = threading.Event()
        self._max_pending = max_pending
        self._on_disk = 0  # writer-only spools: a cheap upper bound of the folder's files
        self._queued: set[Path] = set()  # forward_folder: files queued or being delivered

    @property
    def forwards(self) -> bool:
        """Return whether this process forwards what it spools (else another process does)."""
        return self._deliver is not None

    def start(self) -> int:
        """Start the forwarders and queue what an earlier run left behind; return that count.

        A writer-only spool starts no thread; the count is what waits for the other process.
        """
        self.folder.mkdir(parents=True, exist_ok=True)
        if not self.forwards:
            self._on_disk = self._count_files()
            return self._on_disk
        self._start_workers()
        left = 0
        for path in sorted(self.folder.glob("*.dcm")):
            sent = self._read_sent(path)
            if sent is None:
                continue
            self._room.acquire()
            self._enqueue(_Job(path, sent))
            left += 1
        if left:
            log.info("forwarding %d instance(s) spooled before the last stop", left)
        return left

    def put(self, data: bytes, sent: Sent) -> None:
        """Write ``data`` to the spool and queue it; returns once it is safely on disk.

        One file per instance: a length-prefixed JSON header (who sent it), then the bytes.
        It is written under a temporary name and renamed, so a ``.dcm`` is always complete.
        """
        if not self.forwards:
            self._wait_for_room_on_disk()
            self._write(data, sent)
            self._on_disk += 1
            return
        self._room.acquire()
        try:
            path = self._write(data, sent)
        except BaseException:
            self._room.release()
            raise
        self._enqueue(_Job(path, sent))

    def _write(self, data: bytes, sent: Sent) -> Path:
        """Write one file: plain descriptor writes, no buffered file object on the hot path."""
        name = uuid.uuid4().hex
        path, partial = self.folder / f"{name}.dcm", self.folder / f"{name}.part"
        header = json.dumps(asdict(sent)).encode()
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            for chunk in (struct.pack("<I", len(header)) + header, data):
                pending = memoryview(chunk)
                while pending:  # a regular file takes it all at once unless the disk is full
                    pending = pending[os.write(fd, pending) :]
        finally:
            os.close(fd)
        os.replace(partial, path)
        return path

    def _count_files(self) -> int:
        return sum(1 for entry in os.scandir(self.folder) if entry.name.endswith(".dcm"))

    def _wait_for_room_on_disk(self) -> None:
        """Block while the folder holds ``max_pending`` files (counted only when it may)."""
        while self._on_disk >= self._max_pending:
            self._on_disk = self._count_files()
            if self._on_disk >= self._max_pending:
                time.sleep(_SCAN_BUSY_S)

    def drain(self, timeout_s: float = 30.0) -> bool:
        """Wait until every spooled instance is delivered; return False on timeout."""
        deadline = time.monotonic() + timeout_s
        if not self.forwards:
            while self.pending:
                if time.monotonic() >= deadline:
                    return False
                time.sleep(_SCAN_BUSY_S)
            return True
        with self._idle:
            while self._pending:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._idle.wait(left)
        return True

    @property
    def pending(self) -> int:
        """Return how many spooled instances are not yet delivered."""
        if not self.forwards:
            self._on_disk = self._count_files()
            return self._on_disk
        return self._pending

    def forward_folder(
        self, stop: threading.Event, *, give_up: Callable[[], bool] = lambda: False
    ) -> None:
        """Forward every file another process spools here until ``stop`` (or ``give_up()``).

        The folder is read every 2 ms while files keep coming and every 50 ms when idle;
        files left by an earlier run are simply the first ones found. Deliveries under way
        finish before this returns; what is not delivered stays for the next start.
        """
        self.folder.mkdir(parents=True, exist_ok=True)
        self._start_workers()
        try:
            while not stop.is_set() and not give_up():
                found = self._queue_new_files(stop)
                stop.wait(_SCAN_BUSY_S if found else _SCAN_IDLE_S)
        finally:
            self.stop()

    def _queue_new_files(self, stop: threading.Event) -> int:
        names = sorted(e.name for e in os.scandir(self.folder) if e.name.endswith(".dcm"))
        found = 0
        for name in names:
            path = self.folder / name
            with self._idle:
                if path in self._queued:
                    continue
                self._queued.add(path)  # unreadable ones too: logged once, left for an admin
            sent = self._read_sent(path)
            if sent is None:
                continue
            # At most max_pending ahead of the deliveries (Orthanc down: retries hold them all).
            while not self._room.acquire(timeout=_SCAN_IDLE_S):
                if stop.is_set():
                    with self._idle:
                        self._queued.discard(path)  # found again by the next start
                    return found
            self._enqueue(_Job(path, sent))
            found += 1
        return found

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop the forwarders after the current deliveries; undelivered files stay on disk."""
        self._stopping.set()
        for _ in self._threads:
            self._jobs.put(None)
        for thread in self._threads:
            thread.join(timeout_s)
        self._threads.clear()

    def _start_workers(self) -> None:
        self._stopping.clear()
        for number in range(self._workers):
            thread = threading.Thread(target=self._work, name=f"scp-forward-{number}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def _enqueue(self, job: _Job) -> None:
        with self._idle:
            self._pending += 1
        self._jobs.put(job)

    def _read_sent(self, path: Path) -> Sent | None:
        try:
            with path.open("rb") as handle:
                (length,) = struct.unpack("<I", handle.read(4))
                return Sent(**json.loads(handle.read(length)))
        except (OSError, ValueError, TypeError, struct.error):
            log.error("spooled %s has no readable sender; left for an admin", path.name)
            return None

    @staticmethod
    def _read_data(path: Path) -> bytes:
        with path.open("rb") as handle:
            (length,) = struct.unpack("<I", handle.read(4))
            handle.seek(4 + length)
            return handle.read()

    def _work(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None or self._stopping.is_set():
                return
            assert self._deliver is not None  # only forwarding spools start workers
            try:
                self._deliver(self._read_data(job.path), job.sent)
            except Retry as exc:
                self._retry_later(job, str(exc))
                continue
            except Exception:  # a bug must not take the forwarder down: keep the file, retry
                log.exception("forwarding %s failed; retrying", job.path.name)
                self._retry_later(job, "unexpected error")
                continue
            self._done(job)

    def _retry_later(self, job: _Job, why: str) -> None:
        delay = min(self._retry_base_s * 2**job.attempt, self._retry_max_s)
        log.warning("spooled %s not forwarded (%s); retry in %.1f s", job.path.name, why, delay)
        retry = _Job(job.path, job.sent, job.attempt + 1)
        timer = threading.Timer(delay, self._jobs.put, args=(retry,))
        timer.daemon = True
        timer.start()

    def _done(self, job: _Job) -> None:
        job.path.unlink(missing_ok=True)
        self._room.release()
        with self._idle:
            self._queued.discard(job.path)
            self._pending -= 1
            if not self._pending:
                self._idle.notify_all()
