"""The spool's files: acknowledged instances appended to a few large segments, not one file each.

Creating, renaming and removing a file per instance took the spool folder's directory lock and
an ext4 journal handle on the SCP's serial path: ~300 us an instance while both cores were busy
(10 us on tmpfs), most of what the gateway's own code added to a C-STORE. A segment is created
once, each instance is appended to it with one ``writev``, and the forwarder reads each record
at its offset.

* ``<created ns>-<pid>-<n>.open``: being written by one process, which holds an exclusive
  ``flock`` on it. It is created as ``.new`` and locked before it is renamed, so nobody sees
  an unlocked live segment.
* ``.seg``: sealed (full, or its writer stopped or died); nothing more is appended.
* ``<stem>.done``: the offsets of the segment's records already delivered, 8 bytes each,
  appended by the forwarder. A sealed segment whose records are all delivered is removed.
* ``.broken``: a segment or record nobody can read, left for an admin and logged.

A record is the magic ``RBSP``, the header length (u32), the data length (u64), the JSON header
(who sent the instance), then the instance. A record cut short by its writer's death was never
acknowledged, so it is dropped; a failed append is cut off the segment before the error is
raised. Like the rest of the spool, a segment is written, not fsynced: as durable as Orthanc's
own storage area.
"""

from __future__ import annotations

import fcntl
import itertools
import logging
import os
import struct
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger("radbridge.scp")

MAGIC = b"RBSP"
_PREFIX = struct.Struct("<4sIQ")
_OFFSET = struct.Struct("<Q")
NEW, OPEN, SEALED, DONE, BROKEN = ".new", ".open", ".seg", ".done", ".broken"
DEFAULT_SEGMENT_BYTES = 32 * 2**20


def _writer_alive(fd: int) -> bool:
    """Return whether another open file description holds the segment's lock."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    fcntl.flock(fd, fcntl.LOCK_UN)
    return False


def seal_abandoned(folder: Path) -> None:
    """Seal every ``.open`` segment whose writer is gone; drop never-used ``.new`` files."""
    for path in folder.glob(f"*{OPEN}"):
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:  # sealed by its writer meanwhile
            continue
        try:
            if not _writer_alive(fd):
                os.replace(path, path.with_suffix(SEALED))
        finally:
            os.close(fd)
    for path in folder.glob(f"*{NEW}"):
        fd = os.open(path, os.O_RDONLY)
        try:
            if not _writer_alive(fd):
                path.unlink(missing_ok=True)
        finally:
            os.close(fd)


class SegmentWriter:
    """Appends records to this process's current segment, starting another when it is full."""

    def __init__(self, folder: Path, max_bytes: int = DEFAULT_SEGMENT_BYTES) -> None:
        self.folder = folder
        self._max_bytes = max_bytes
        self._fd: int | None = None
        self._path = Path()
        self._size = 0
        self._names = itertools.count()
        self._lock = threading.Lock()  # one association thread appends at a time

    def append(self, header: bytes, data: bytes) -> None:
        """Append one record; when this returns, it is in the segment whole."""
        buffers = [_PREFIX.pack(MAGIC, len(header), len(data)), header, data]
        total = sum(len(b) for b in buffers)
        with self._lock:
            if self._fd is not None and os.fstat(self._fd).st_nlink == 0:
                os.close(self._fd)  # removed from under us: what we append, nobody would read
                self._fd = None
            fd = self._fd if self._fd is not None else self._open()
            try:
                written = os.writev(fd, buffers)
                if written < total:  # a regular file takes it all unless the disk is full
                    rest = memoryview(b"".join(buffers))[written:]
                    while rest:
                        rest = rest[os.write(fd, rest) :]
            except OSError:
                os.ftruncate(fd, self._size)  # no torn record in front of the next one
                raise
            self._size += total
            if self._size >= self._max_bytes:
                self._seal()

    def seal(self) -> None:
        """Seal the current segment (the next append starts another)."""
        with self._lock:
            self._seal()

    def _open(self) -> int:
        stem = f"{time.time_ns():020d}-{os.getpid()}-{next(self._names)}"
        new = self.folder / f"{stem}{NEW}"
        fd = os.open(new, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)  # held until sealed: the sign that a writer is alive
        self._path = self.folder / f"{stem}{OPEN}"
        os.replace(new, self._path)
        self._fd, self._size = fd, 0
        return fd

    def _seal(self) -> None:
        if self._fd is None:
            return
        os.replace(self._path, self._path.with_suffix(SEALED))  # before the lock goes
        os.close(self._fd)
        self._fd = None


@dataclass(frozen=True)
class Record:
    """One spooled instance: where its data lies and the header saying who sent it."""

    stem: str
    offset: int
    data_offset: int
    data_length: int
    header: bytes


@dataclass
class _Segment:
    stem: str
    fd: int
    sealed: bool
    done: set[int]
    done_fd: int | None = None
    offset: int = 0  # the first byte not yet read as a record
    outstanding: int = 0  # handed out, not yet delivered
    ended: bool = False  # nothing more will be read: end of a sealed one, or unreadable
    broken: bool = False


class _NoRecord(Exception):
    """No record starts where one should: the segment is damaged."""


def _whole_record(fd: int, at: int, size: int) -> tuple[int, int] | None:
    """Return the header and data lengths of the record at ``at``; None if not all of it is in.

    The one reading of a record's prefix, for the forwarder and for counting what waits.
    """
    magic, header_length, data_length = _PREFIX.unpack(os.pread(fd, _PREFIX.size, at))
    if magic != MAGIC:
        raise _NoRecord
    if at + _PREFIX.size + header_length + data_length > size:
        return None
    return header_length, data_length


def _read_done(path: Path) -> set[int]:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return set()
    whole = len(raw) - len(raw) % _OFFSET.size  # a crash may have cut the last one short
    return {_OFFSET.unpack_from(raw, at)[0] for at in range(0, whole, _OFFSET.size)}


def _segment_paths(folder: Path) -> list[Path]:
    return sorted(
        (folder / e.name for e in os.scandir(folder) if e.name.endswith((OPEN, SEALED))),
        key=lambda p: p.stem,
    )


def has_segments(folder: Path) -> bool:
    """Return whether any segment (written or sealed, delivered or not) is left."""
    try:
        return bool(_segment_paths(folder))
    except FileNotFoundError:  # no folder, no segments
        return False


class SegmentReader:
    """Hands out the folder's complete records in order, once each, and removes what is done.

    ``records`` is called by one thread; ``data`` and ``delivered`` by any.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._segments: dict[str, _Segment] = {}
        self._lock = threading.Lock()

    def records(self) -> Iterator[Record]:
        """Yield every complete record not yet delivered nor handed out, oldest first."""
        for path in _segment_paths(self.folder):
            segment = self._segment(path)
            if segment is None or segment.ended:
                continue
            yield from self._new_records(segment)

    def data(self, record: Record) -> bytes:
        """Return a record's instance bytes."""
        with self._lock:
            fd = self._segments[record.stem].fd
        return os.pread(fd, record.data_length, record.data_offset)

    def delivered(self, record: Record) -> None:
        """Note ``record`` as stored for good: it is never handed out again, even after a crash."""
        with self._lock:
            segment = self._segments[record.stem]
            if segment.done_fd is None:
                done = self.folder / f"{record.stem}{DONE}"
                segment.done_fd = os.open(done, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            os.write(segment.done_fd, _OFFSET.pack(record.offset))
            segment.done.add(record.offset)
            segment.outstanding -= 1

    def set_aside(self, record: Record, why: str) -> None:
        """Keep an undeliverable record for an admin (``<stem>.<offset>.broken``), then skip it."""
        raw = os.pread(
            self._segments[record.stem].fd,
            record.data_offset + record.data_length - record.offset,
            record.offset,
        )
        (self.folder / f"{record.stem}.{record.offset}{BROKEN}").write_bytes(raw)
        log.error(
            "spooled record %s@%d set aside for an admin: %s", record.stem, record.offset, why
        )
        self.delivered(record)

    def collect(self) -> None:
        """Remove sealed segments with every record delivered; rename unreadable ones."""
        with self._lock:
            finished = [
                s for s in self._segments.values() if s.ended and s.sealed and not s.outstanding
            ]
            for segment in finished:
                del self._segments[segment.stem]
        for segment in finished:
            self._close(segment)
            path = self.folder / f"{segment.stem}{SEALED}"
            if segment.broken:
                os.replace(path, path.with_suffix(BROKEN))
            else:
                path.unlink(missing_ok=True)
            (self.folder / f"{segment.stem}{DONE}").unlink(missing_ok=True)

    def close(self) -> None:
        """Let go of every segment (what is not delivered stays for the next reader)."""
        with self._lock:
            segments, self._segments = list(self._segments.values()), {}
        for segment in segments:
            self._close(segment)

    def _segment(self, path: Path) -> _Segment | None:
        segment = self._segments.get(path.stem)
        if segment is None:
            try:
                fd = os.open(path, os.O_RDONLY)
            except FileNotFoundError:  # sealed meanwhile: found under its new name next time
                return None
            done = _read_done(self.folder / f"{path.stem}{DONE}")
            segment = _Segment(path.stem, fd, path.suffix == SEALED, done)
            with self._lock:
                self._segments[path.stem] = segment
        if not segment.sealed:
            if path.suffix == SEALED:
                segment.sealed = True
            elif not _writer_alive(segment.fd):  # its writer died: nothing more will come
                os.replace(path, path.with_suffix(SEALED))
                segment.sealed = True
        return segment

    def _new_records(self, segment: _Segment) -> Iterator[Record]:
        size = os.fstat(segment.fd).st_size
        while segment.offset + _PREFIX.size <= size:
            at = segment.offset
            try:
                lengths = _whole_record(segment.fd, at, size)
            except _NoRecord:
                log.error(
                    "spool segment %s unreadable at byte %d; left for an admin", segment.stem, at
                )
                segment.ended = segment.broken = True
                return
            if lengths is None:
                break  # still being written, or cut short by its writer's death
            header_length, data_length = lengths
            data_offset = at + _PREFIX.size + header_length
            segment.offset = data_offset + data_length
            if at in segment.done:
                continue
            header = os.pread(segment.fd, header_length, at + _PREFIX.size)
            with self._lock:
                segment.outstanding += 1
            yield Record(segment.stem, at, data_offset, data_length, header)
        if segment.sealed:
            if segment.offset < size:
                log.warning(
                    "spool segment %s ends in a record cut short (never acknowledged); dropped",
                    segment.stem,
                )
            segment.ended = True

    @staticmethod
    def _close(segment: _Segment) -> None:
        os.close(segment.fd)
        if segment.done_fd is not None:
            os.close(segment.done_fd)


@dataclass
class Census:
    """Counts the records not yet delivered, reading only what is new since the last count."""

    folder: Path
    _seen: dict[str, tuple[int, int]] = field(default_factory=dict)  # stem -> (offset, records)

    def pending(self) -> int:
        """Return how many complete records in the folder are not yet delivered."""
        total, seen = 0, {}
        try:
            paths = _segment_paths(self.folder)
        except FileNotFoundError:  # no folder, nothing waiting
            paths = []
        for path in paths:
            offset, count = self._seen.get(path.stem, (0, 0))
            try:
                offset, count = self._count(path, offset, count)
            except FileNotFoundError:  # sealed or removed meanwhile
                continue
            seen[path.stem] = (offset, count)
            done = self.folder / f"{path.stem}{DONE}"
            delivered = done.stat().st_size // _OFFSET.size if done.exists() else 0
            total += max(count - delivered, 0)
        self._seen = seen
        return total

    @staticmethod
    def _count(path: Path, offset: int, count: int) -> tuple[int, int]:
        fd = os.open(path, os.O_RDONLY)
        try:
            size = os.fstat(fd).st_size
            while offset + _PREFIX.size <= size:
                try:
                    lengths = _whole_record(fd, offset, size)
                except _NoRecord:
                    break
                if lengths is None:
                    break
                offset, count = offset + _PREFIX.size + sum(lengths), count + 1
        finally:
            os.close(fd)
        return offset, count
