"""Retry policy of deliveries: pure rules, no I/O."""

from __future__ import annotations

from typing import Literal

PENDING = "PENDING"
SENDING = "SENDING"
RETRYING = "RETRYING"
DELIVERED = "DELIVERED"
FAILED = "FAILED"

Result = Literal["delivered", "retry", "failed"]


def backoff_s(attempts: int, *, base: float = 2.0, cap: float = 120.0) -> float:
    """Seconds to wait after the ``attempts``-th failed attempt: 2, 4, 8 ... up to ``cap``."""
    return float(min(cap, base * 2 ** max(0, attempts - 1)))


def next_status(result: Result, *, attempts: int, max_attempts: int) -> str:
    """Return the delivery status after an attempt with ``result``."""
    if result == "delivered":
        return DELIVERED
    if result == "retry" and attempts < max_attempts:
        return RETRYING
    return FAILED
