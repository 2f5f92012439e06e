"""The SCP polls for the next PDU at once while a modality sends, and lazily when it is idle.

pynetdicom naps 1 ms whenever its reactor finds nothing to do, which bounded one association
to ~330 instances/s; polling every 0.1 ms costs a share of a core per open association, so
only busy associations poll fast (``gateway/scp/pacing.py``).
"""

from __future__ import annotations

import inspect
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
