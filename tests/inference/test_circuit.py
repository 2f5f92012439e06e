"""The circuit breaker's states on a hand-wound clock."""

from __future__ import annotations

import pytest

from inference.circuit import BreakerState, CircuitBreaker, CircuitOpen

pytestmark = pytest.mark.unit


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _state(breaker: CircuitBreaker) -> BreakerState:
    """Read the state afresh (a plain read lets mypy narrow it across mutating calls)."""
    return breaker.state


def test_opens_after_n_consecutive_failures_only() -> None:
    breaker = CircuitBreaker(failure_threshold=3, cooldown_s=10, clock=Clock())
    breaker.record_failure()
    breaker.record_failure()
    breaker.record_success()  # the streak is broken
    breaker.record_failure()
    breaker.record_failure()
    assert _state(breaker) == BreakerState.CLOSED and breaker.allow()
    breaker.record_failure()
    assert _state(breaker) == BreakerState.OPEN
    assert not breaker.allow()
    with pytest.raises(CircuitOpen, match="3 times in a row"):
        breaker.check()


def test_half_open_lets_one_probe_through_and_its_outcome_decides() -> None:
    clock = Clock()
    breaker = CircuitBreaker(failure_threshold=1, cooldown_s=10, clock=clock)
    breaker.record_failure()
    clock.now = 9.9
    assert not breaker.allow()
    clock.now = 10.0
    assert _state(breaker) == BreakerState.HALF_OPEN
    assert breaker.allow()
    assert not breaker.allow()  # one probe at a time
    breaker.record_failure()  # the probe failed: open for another cool-down
    assert _state(breaker) == BreakerState.OPEN
    clock.now = 20.0
    assert breaker.allow()
    breaker.record_success()
    assert _state(breaker) == BreakerState.CLOSED and breaker.consecutive_failures == 0


def test_a_probe_that_never_reached_the_server_frees_the_slot() -> None:
    clock = Clock()
    breaker = CircuitBreaker(failure_threshold=1, cooldown_s=1, clock=clock)
    breaker.record_failure()
    clock.now = 1.0
    assert breaker.allow()
    breaker.release_probe()
    assert breaker.allow()


@pytest.mark.parametrize(("threshold", "cooldown"), [(0, 1.0), (1, -1.0)])
def test_nonsense_settings_are_refused(threshold: int, cooldown: float) -> None:
    with pytest.raises(ValueError, match="must"):
        CircuitBreaker(failure_threshold=threshold, cooldown_s=cooldown)
