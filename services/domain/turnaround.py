"""Turnaround percentiles (received-to-AI, received-to-claim, received-to-signed)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

PERCENTILES = (50, 90, 95)


def percentile(values: Sequence[float], p: float) -> float:
    """Return the ``p``-th percentile with linear interpolation between ranks (numpy default)."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * p / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass(frozen=True)
class Summary:
    """Count and percentiles of durations in minutes."""

    count: int
    p50: float | None
    p90: float | None
    p95: float | None


def summarize(minutes: Sequence[float]) -> Summary:
    """Return the count and p50/p90/p95 of ``minutes`` (None percentiles when empty)."""
    if not minutes:
        return Summary(0, None, None, None)
    p50, p90, p95 = (round(percentile(minutes, p), 2) for p in PERCENTILES)
    return Summary(len(minutes), p50, p90, p95)
