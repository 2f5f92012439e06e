"""A circuit breaker around the model server, one per worker process.

Closed: calls go through; ``failure_threshold`` consecutive failures (``TritonUnavailable``)
open it. Open: calls are refused at once for ``cooldown_s`` seconds, so a worker hands its jobs
back to the queue without waiting on timeouts or burning their attempts. Half-open: after the
cool-down one probe call goes through; its success closes the breaker, its failure opens it for
another cool-down. Thread-safe (a worker may run several threads).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from enum import StrEnum

from inference.triton.port import TritonUnavailable

DEFAULT_FAILURE_THRESHOLD = 5
DEFAULT_COOLDOWN_S = 30.0


class BreakerState(StrEnum):
    """The three states of a circuit breaker."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitOpen(TritonUnavailable):
    """The breaker refused the call: the model server failed recently; retry after cool-down."""


class CircuitBreaker:
    """Count consecutive failures of one dependency and refuse calls while it is down.

    Parameters
    ----------
    failure_threshold
        Consecutive failures that open the breaker (at least 1).
    cooldown_s
        Seconds the breaker stays open before letting one probe through.
    clock
        Monotonic time source, replaceable in tests.
    """

    def __init__(
        self,
        *,
        failure_threshold: int = DEFAULT_FAILURE_THRESHOLD,
        cooldown_s: float = DEFAULT_COOLDOWN_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if failure_threshold < 1:
            raise ValueError("failure_threshold must be at least 1")
        if cooldown_s < 0:
            raise ValueError("cooldown_s must not be negative")
        self.failure_threshold = failure_threshold
        self.cooldown_s = cooldown_s
        self._clock = clock
        self._lock = threading.Lock()
        self._failures = 0
        self._opened_at: float | None = None
        self._probing = False

    @property
    def state(self) -> BreakerState:
        """Return the current state (open turns half-open once the cool-down has passed)."""
        with self._lock:
            return self._state()

    @property
    def consecutive_failures(self) -> int:
        """Return how many failures in a row were recorded since the last success."""
        with self._lock:
            return self._failures

    def _state(self) -> BreakerState:
        if self._opened_at is None:
            return BreakerState.CLOSED
        if self._clock() - self._opened_at >= self.cooldown_s:
            return BreakerState.HALF_OPEN
        return BreakerState.OPEN

    def allow(self) -> bool:
        """Return whether a call may go out now (in half-open state: one probe at a time)."""
        with self._lock:
            state = self._state()
            if state is BreakerState.CLOSED:
                return True
            if state is BreakerState.HALF_OPEN and not self._probing:
                self._probing = True
                return True
            return False

    def check(self, what: str = "Triton") -> None:
        """Raise ``CircuitOpen`` unless a call may go out now."""
        if not self.allow():
            raise CircuitOpen(
                f"{what} failed {self.consecutive_failures} times in a row; calls are paused "
                f"for up to {self.cooldown_s:g} s (circuit open)."
            )

    def record_success(self) -> None:
        """Record that the dependency answered: close the breaker."""
        with self._lock:
            self._failures = 0
            self._opened_at = None
            self._probing = False

    def record_failure(self) -> None:
        """Record that the dependency was unavailable; open the breaker at the threshold."""
        with self._lock:
            self._failures += 1
            if self._probing or self._failures >= self.failure_threshold:
                self._opened_at = self._clock()
            self._probing = False

    def release_probe(self) -> None:
        """Free the probe slot: the call ended without telling whether the dependency is up."""
        with self._lock:
            self._probing = False
