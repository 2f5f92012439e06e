"""How soon pynetdicom looks at what a modality sent: at once while it sends, lazily when idle.

Two threads of each association nap between looks, and a modality waits for every C-STORE
response before it sends the next instance, so each nap lands on every instance's path.

pynetdicom's reactor sleeps ``dul._run_loop_delay`` (1 ms by default) whenever it finds nothing
to do, and a modality waits for each C-STORE response, so every instance paid about a
millisecond of sleep: a do-nothing SCP received 330 instances/s over one association, and
510-630/s at 0.1 ms, with the same CPU per instance. Polling every 0.1 ms costs about 7 % of a
core per open association, though, so an association idle for ``idle_after_s`` goes back to
the default; with up to ``max_associations`` modalities connected that would otherwise burn a
core doing nothing.
"""

from __future__ import annotations

import queue
import socket
import threading
import time
from collections.abc import Callable, Iterable
from types import ModuleType
from typing import Any

import pynetdicom.association
from pynetdicom.association import Association

BUSY_DELAY_S = 0.0001
IDLE_DELAY_S = 0.001  # pynetdicom's own default
ACCEPTOR_NAP_S = 0.001  # what pynetdicom's acceptor loop sleeps before each look at its queue


def idle_seconds(assoc: Any) -> float:
    """Return how long the association has received nothing (its DUL idle timer)."""
    timer = assoc.dul._idle_timer
    if timer.timeout is None:
        return 0.0
    return float(timer.timeout - timer.remaining)


def pace(assoc: Any, *, idle_after_s: float) -> None:
    """Set the association's reactor delay from how long it has been idle."""
    busy = idle_seconds(assoc) < idle_after_s
    assoc.dul._run_loop_delay = BUSY_DELAY_S if busy else IDLE_DELAY_S


class ReactorPacer:
    """A thread re-pacing every open association every ``period_s``."""

    def __init__(
        self,
        associations: Callable[[], Iterable[Any]],
        *,
        idle_after_s: float = 0.05,
        period_s: float = 0.05,
    ) -> None:
        self._associations = associations
        self.idle_after_s, self.period_s = idle_after_s, period_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="scp-pacer", daemon=True)

    def start(self) -> None:
        """Start pacing."""
        self._thread.start()

    def stop(self) -> None:
        """Stop pacing (associations keep their last delay)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=1.0)

    def _run(self) -> None:
        while not self._stop.wait(self.period_s):
            for assoc in list(self._associations()):
                pace(assoc, idle_after_s=self.idle_after_s)


class _WakingClock:
    """``time`` for pynetdicom's association module, with a nap that ends when a message comes.

    The acceptor loop of each association (``Association._run_reactor``) sleeps a fixed
    millisecond, then looks whether the DUL has put a decoded DIMSE message on its queue: about
    a millisecond of every C-STORE went to that sleep (the SCP took 2.9 ms an instance where
    Orthanc takes 1.6). Here an acceptor's nap waits on that queue instead, for at most the same
    millisecond, so a message is served as soon as it is complete and an idle association wakes
    as often as before. Every other sleep, and every other thread's, is the real one.
    """

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)

    @staticmethod
    def sleep(seconds: float) -> None:
        """Nap until a DIMSE message is queued (acceptor loops) or ``seconds`` have passed."""
        thread = threading.current_thread()
        if seconds != ACCEPTOR_NAP_S or not isinstance(thread, Association):
            time.sleep(seconds)
            return
        nap_until_queued(thread.dimse.msg_queue, seconds)


def nap_until_queued(messages: queue.Queue[Any], seconds: float) -> None:
    """Return once ``messages`` holds an item or after ``seconds``, whichever comes first."""
    with messages.not_empty:  # the queue's own condition: put() notifies it
        if not messages.queue:
            messages.not_empty.wait(seconds)


def wake_acceptors_on_messages() -> None:
    """Let acceptor loops wake when a DIMSE message is queued (idempotent, process-wide)."""
    module: ModuleType = pynetdicom.association
    if not isinstance(getattr(module, "time", None), _WakingClock):
        setattr(module, "time", _WakingClock())  # noqa: B010 - the module's own name for it


def prompt_connection(event: Any) -> None:
    """On a new connection: send each PDU at once, and poll for the next one fast while busy.

    Nagle cost DCMTK C-STORE ~24x here; the reactor's idle sleep bounded one association to
    ~330 instances/s.
    """
    sock = getattr(event.assoc.dul.socket, "socket", None)
    if isinstance(sock, socket.socket):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    event.assoc.dul._run_loop_delay = BUSY_DELAY_S
