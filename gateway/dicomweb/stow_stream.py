"""A large STOW-RS part goes on to Orthanc while it is still arriving (issue 3, P2).

Store-and-forward put the whole upload of a 15 MB radiograph, and then its copy for Orthanc,
in front of Orthanc's own work. Here, once the part's head has arrived and passed admission
(checked, patient namespaced: every edit lies before the pixel data), the rewritten head is
sent to Orthanc and the rest follows in pieces of about a megabyte as it comes in, from the
event loop (``gateway.orthanc.stream_upload``).

Nothing is given up for it:

* The last bytes are held back until the whole body is in. The whole part is then checked
  exactly as store-and-forward checks it. Orthanc gets the last piece only if the part passes
  and is the request's only part. Otherwise the upload is abandoned before its end (Orthanc
  stores nothing) and the request goes the usual way, which stores, refuses or quarantines it.
* Orthanc is not exposed to slow senders: an upload that has not moved on for
  ``STALL_S`` is abandoned and the body is read to its end first as usual. At most
  ``MAX_STREAMS`` uploads a process stream at once.
* An upload Orthanc could not take (unreachable, or a timeout on its side) is also sent again
  the usual way, from the complete body.

Only bodies of at least ``STREAM_FROM_BYTES`` stream: below that there is little to overlap.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from concurrent.futures import Future
from dataclasses import dataclass, field

from gateway.dicomweb.multipart import MultipartError, split_parts
from gateway.ingest.admission import Sender, admit_head
from gateway.ingest.validation import Verdict, inspect_instance
from gateway.orthanc.errors import OrthancUnavailable
from gateway.orthanc.records import UploadResult
from gateway.orthanc.stream_upload import Abandon, StreamingUploader

STREAM_FROM_BYTES = 4 * 2**20
HEAD_MAX_BYTES = 2 * 2**20  # no pixel data by then: read the whole body first
PIECE_BYTES = 2**20
TAIL_BYTES = 4096  # held back: the closing delimiter, its CRLFs and any epilogue
STALL_S = 1.0
MAX_STREAMS = 4
_active = 0  # streaming uploads of this process (the event loop's thread only)


class PayloadTooLarge(Exception):
    """The body grew past the limit while streaming (the caller answers 413)."""


@dataclass
class Received:
    """The whole body and, when its only part went on to Orthanc, that part's upload."""

    body: bytes
    verdict: Verdict | None = None  # the streamed part's verdict (the whole part's)
    upload: Future[UploadResult] | None = None


@dataclass
class _Upstream:
    """One streaming upload: a queue of pieces feeding the uploader's body."""

    uploader: StreamingUploader
    queue: asyncio.Queue[bytes | memoryview | Abandon | None] = field(default_factory=asyncio.Queue)
    task: asyncio.Task[UploadResult] | None = None
    watchdog: asyncio.TimerHandle | None = None
    abandoned: bool = False

    def start(self, head: bytes) -> None:
        self.task = asyncio.create_task(self.uploader.upload(self._body()))
        self.send(head)

    def send(self, piece: bytes | memoryview) -> None:
        """Queue ``piece``; without another within ``STALL_S``, the upload is given up."""
        if self.abandoned:
            return
        self.queue.put_nowait(piece)
        if self.watchdog is not None:
            self.watchdog.cancel()
        self.watchdog = asyncio.get_running_loop().call_later(STALL_S, self.abandon)

    def abandon(self) -> None:
        """Stop the upload before its end: Orthanc stores nothing and frees its thread."""
        if self.watchdog is not None:
            self.watchdog.cancel()
        if not self.abandoned:
            self.abandoned = True
            self.queue.put_nowait(Abandon())

    async def finish(self) -> Future[UploadResult]:
        """Close the body and wait for Orthanc's answer."""
        assert self.task is not None
        if self.watchdog is not None:
            self.watchdog.cancel()
        self.queue.put_nowait(None)
        done: Future[UploadResult] = Future()
        try:
            done.set_result(await self.task)
        except Exception as exc:  # settled like a pooled upload's failure
            done.set_exception(exc)
        return done

    async def wait_abandoned(self) -> None:
        """Give the upload up unless it is over, and wait until it is."""
        self.abandon()
        if self.task is not None:
            with contextlib.suppress(Exception):
                await self.task

    async def _body(self) -> AsyncIterator[bytes | memoryview]:
        while True:
            piece = await self.queue.get()
            if piece is None:
                return
            if isinstance(piece, Abandon):
                raise piece
            yield piece


def _part_start(prefix: bytes, delimiter: bytes) -> int | None:
    """Return where the first part's content starts in ``prefix`` (None: not there yet)."""
    first = prefix.find(delimiter)
    if first < 0:
        return None
    blank = prefix.find(b"\r\n\r\n", first)
    return None if blank < 0 else blank + 4


class _Receiver:
    """Reads one body, starting and feeding a streaming upload once the part's head is in."""

    def __init__(self, boundary: bytes, declared_length: int, sender: Sender) -> None:
        self.delimiter = b"--" + boundary
        self.declared_length = declared_length
        self.sender = sender
        self.received: list[bytes] = []
        self.total = 0
        self.start: int | None = None  # where the streamed part's content starts in the body
        self.forwarded = 0  # body offset up to which Orthanc has the bytes (or their rewrite)
        self.upstream: _Upstream | None = None
        self.looking = True  # still looking for the head
        self._next_look = 0  # how much must be in before the head is looked for (again)
        self._unsent: list[bytes] = []  # received after the head, not yet forwarded
        self._unsent_bytes = 0

    def take(self, chunk: bytes, uploader: StreamingUploader) -> None:
        """Keep ``chunk``; look for the head, or forward what may go on."""
        self.received.append(chunk)
        self.total += len(chunk)
        if self.upstream is not None:
            if not self.upstream.abandoned:
                self._forward(chunk)
        elif self.looking and self.total >= self._next_look:
            self._look_for_head(uploader)

    def _look_for_head(self, uploader: StreamingUploader) -> None:
        prefix = b"".join(self.received)
        self.start = _part_start(prefix, self.delimiter)
        admitted = None
        if self.start is not None:
            head = memoryview(prefix)[self.start :]
            admitted = admit_head(head, self.sender, size=self.declared_length - self.start)
        if admitted is None:  # not all in yet (looked for again at twice the size), or never
            self.looking, self._next_look = self.total < HEAD_MAX_BYTES, 2 * self.total
            return
        self.upstream = _Upstream(uploader)
        self.upstream.start(admitted.data)
        self.forwarded = self.total

    def _forward(self, chunk: bytes) -> None:
        assert self.upstream is not None
        self._unsent.append(chunk)
        self._unsent_bytes += len(chunk)
        if self._unsent_bytes - TAIL_BYTES < PIECE_BYTES:
            return
        pending = b"".join(self._unsent)
        self.upstream.send(memoryview(pending)[:-TAIL_BYTES])
        self.forwarded += len(pending) - TAIL_BYTES
        self._unsent, self._unsent_bytes = [pending[-TAIL_BYTES:]], TAIL_BYTES


async def receive(  # noqa: PLR0913 - the request, its limits and where it goes
    chunks: AsyncIterator[bytes],
    *,
    content_type: str,
    boundary: bytes,
    declared_length: int,
    limit: int,
    sender: Sender,
    uploader: StreamingUploader,
) -> Received:
    """Read the body, streaming its first part to Orthanc when it may; see the module doc."""
    global _active
    receiver = _Receiver(boundary, declared_length, sender)
    counted = declared_length >= STREAM_FROM_BYTES and _active < MAX_STREAMS
    receiver.looking = counted
    _active += counted
    try:
        async for chunk in chunks:
            if receiver.total + len(chunk) > limit:
                raise PayloadTooLarge
            receiver.take(chunk, uploader)
        body = b"".join(receiver.received)
        upstream, start = receiver.upstream, receiver.start
        if upstream is None or upstream.abandoned or start is None:
            return Received(body)
        return await _complete(upstream, body, content_type, start, receiver.forwarded)
    finally:
        _active -= counted
        if receiver.upstream is not None:  # given up or done: its outcome is collected
            await receiver.upstream.wait_abandoned()


async def _complete(
    upstream: _Upstream, body: bytes, content_type: str, start: int, forwarded: int
) -> Received:
    """Send the rest of the part if it alone is the request and whole; else abandon it."""
    try:
        parts = split_parts(content_type, body)
    except MultipartError:
        parts = []
    # One part: it starts where the head was found (split_parts finds the first delimiter as
    # _part_start did, in the same bytes).
    payload = parts[0][1] if len(parts) == 1 else None
    end = start + len(payload) if payload is not None else -1
    if payload is None or end < forwarded:
        await upstream.wait_abandoned()
        return Received(body)
    verdict = inspect_instance(payload).verdict
    if not verdict.ok:
        await upstream.wait_abandoned()
        return Received(body)  # the usual way quarantines it with this reason
    upstream.send(body[forwarded:end])
    upload = await upstream.finish()
    if upstream.abandoned or isinstance(upload.exception(), (Abandon, OrthancUnavailable)):
        return Received(body)  # sent again the usual way, from the whole body
    return Received(body, verdict, upload)
