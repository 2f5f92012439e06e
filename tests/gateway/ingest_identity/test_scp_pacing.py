"""The SCP looks at what a modality sent at once while it sends, and lazily when it is idle.

pynetdicom naps 1 ms whenever its reactor finds nothing to do, which bounded one association
to ~330 instances/s; polling every 0.1 ms costs a share of a core per open association, so
only busy associations poll fast (``gateway/scp/pacing.py``).
"""

from __future__ import annotations

import inspect
import queue
import threading
import time
from collections.abc import Callable

import pytest
from pynetdicom import AE
from pynetdicom.sop_class import Verification  # type: ignore[attr-defined]

from gateway.scp import pacing
from tests.gateway.ingest_identity.conftest import Scp, Site

pytestmark = pytest.mark.integration


def _eventually(
    check: Callable[[], bool], *, while_doing: Callable[[], None], limit_s: float
) -> bool:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if check():
            return True
        while_doing()
    return False


def test_a_busy_association_polls_fast_and_an_idle_one_goes_back_to_the_default(
    scp: Scp, site: Site
) -> None:
    modality = AE(ae_title=site.node_a)
    modality.add_requested_context(Verification)
    assoc = modality.associate("127.0.0.1", scp.port, ae_title=scp.ae_title)
    assert assoc.is_established
    try:
        server = scp.gateway._server
        assert server is not None
        (ours,) = server.active_associations

        def delay() -> float:
            return float(ours.dul._run_loop_delay)

        def echo() -> None:
            assert assoc.send_c_echo().Status == 0x0000
            time.sleep(0.005)

        assert _eventually(
            lambda: delay() == pacing.IDLE_DELAY_S, while_doing=lambda: time.sleep(0.01), limit_s=5
        ), "an idle association kept polling every 0.1 ms"
        assert _eventually(lambda: delay() == pacing.BUSY_DELAY_S, while_doing=echo, limit_s=5), (
            "a busy association kept napping 1 ms between PDUs"
        )
    finally:
        assoc.release()


class _Timer:
    def __init__(self, timeout: float | None, remaining: float) -> None:
        self.timeout, self.remaining = timeout, remaining


class _Dul:
    def __init__(self, timer: _Timer) -> None:
        self._idle_timer, self._run_loop_delay = timer, 0.001


class _Assoc:
    def __init__(self, timer: _Timer) -> None:
        self.dul = _Dul(timer)


@pytest.mark.parametrize(
    ("timeout", "remaining", "expected"),
    [
        (30.0, 29.99, pacing.BUSY_DELAY_S),  # received 10 ms ago
        (30.0, 29.0, pacing.IDLE_DELAY_S),  # idle for a second
        (None, 1.0, pacing.BUSY_DELAY_S),  # no idle timeout: never idle by this measure
    ],
)
def test_pace_reads_the_idle_timer(
    timeout: float | None, remaining: float, expected: float
) -> None:
    assoc = _Assoc(_Timer(timeout, remaining))
    pacing.pace(assoc, idle_after_s=0.05)
    assert assoc.dul._run_loop_delay == expected


def test_pynetdicom_still_naps_on_the_delay_we_set() -> None:
    """A pynetdicom release renaming the knob would silently bring the 1 ms nap back."""
    from pynetdicom.dul import DULServiceProvider

    assert "self._run_loop_delay" in inspect.getsource(DULServiceProvider.run_reactor)


def test_an_acceptor_nap_ends_when_a_message_is_queued() -> None:
    """The acceptor loop's fixed millisecond nap ended on time, not when the C-STORE came."""
    messages: queue.Queue[str] = queue.Queue()
    threading.Timer(0.05, messages.put, args=("C-STORE-RQ",)).start()

    started = time.monotonic()
    pacing.nap_until_queued(messages, 30.0)

    assert time.monotonic() - started < 10.0  # woken by the message, not by the timeout
    assert messages.get_nowait() == "C-STORE-RQ"  # the nap takes nothing off the queue


def test_a_nap_with_a_message_waiting_does_not_wait() -> None:
    messages: queue.Queue[str] = queue.Queue()
    messages.put("C-ECHO-RQ")
    started = time.monotonic()
    pacing.nap_until_queued(messages, 30.0)
    assert time.monotonic() - started < 10.0


def test_only_acceptor_naps_change_and_every_other_time_function_is_the_real_one() -> None:
    import pynetdicom.association

    pacing.wake_acceptors_on_messages()
    pacing.wake_acceptors_on_messages()  # idempotent
    clock = vars(pynetdicom.association)["time"]
    assert isinstance(clock, pacing._WakingClock)
    assert clock.monotonic is time.monotonic
    started = time.monotonic()
    clock.sleep(0.02)  # not an association thread: a real sleep, however short
    assert time.monotonic() - started >= 0.02


def test_pynetdicom_acceptors_still_nap_the_millisecond_we_replace() -> None:
    """A pynetdicom release changing the nap would silently bring the wait back."""
    from pynetdicom.association import Association

    source = inspect.getsource(Association._run_reactor)
    assert f"time.sleep({pacing.ACCEPTOR_NAP_S})" in source
    assert "self.dimse.get_msg(block=False)" in source
