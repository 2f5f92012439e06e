"""Model monitoring arithmetic (pure): agreement, latency percentiles, input drift."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Agreement:
    """A model's calls for one finding code against readers' signed decisions."""

    code: str
    true_positive: int
    false_positive: int
    false_negative: int
    true_negative: int

    @property
    def studies(self) -> int:
        """Return how many studies were compared."""
        return self.true_positive + self.false_positive + self.false_negative + self.true_negative

    @property
    def sensitivity(self) -> float | None:
        """Return TP / (TP + FN), or None without reader-positive studies."""
        return _ratio(self.true_positive, self.true_positive + self.false_negative)

    @property
    def specificity(self) -> float | None:
        """Return TN / (TN + FP), or None without reader-negative studies."""
        return _ratio(self.true_negative, self.true_negative + self.false_positive)

    @property
    def ppv(self) -> float | None:
        """Return TP / (TP + FP), or None when the model never called the finding."""
        return _ratio(self.true_positive, self.true_positive + self.false_positive)


def _ratio(numerator: int, denominator: int) -> float | None:
    return round(numerator / denominator, 4) if denominator else None


def agreement(
    code: str, predicted: set[object], reader_positive: set[object], compared: Iterable[object]
) -> Agreement:
    """Count agreement over the ``compared`` studies for one code."""
    counts: Counter[str] = Counter()
    for study in compared:
        said, truth = study in predicted, study in reader_positive
        counts["tp" if said and truth else "fp" if said else "fn" if truth else "tn"] += 1
    return Agreement(code, counts["tp"], counts["fp"], counts["fn"], counts["tn"])


def percentile(values: Sequence[float], q: float) -> float | None:
    """Return the ``q`` (0..100) percentile by linear interpolation, or None if empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100.0
    low, high = math.floor(rank), math.ceil(rank)
    value = ordered[low] + (ordered[high] - ordered[low]) * (rank - low)
    return round(value, 2)


def mix(values: Iterable[str]) -> dict[str, float]:
    """Return each value's share (0..1)."""
    counts = Counter(values)
    total = sum(counts.values())
    return {key: round(n / total, 4) for key, n in sorted(counts.items())} if total else {}


def total_variation(a: dict[str, float], b: dict[str, float]) -> float:
    """Return the total-variation distance (0 = same mix, 1 = disjoint) of two mixes."""
    return round(sum(abs(a.get(k, 0.0) - b.get(k, 0.0)) for k in a.keys() | b.keys()) / 2, 4)


@dataclass(frozen=True)
class Shift:
    """How far one pixel statistic moved from its baseline."""

    baseline_mean: float | None
    current_mean: float | None
    shift_sd: float | None  # (current - baseline) in baseline standard deviations


def shift(baseline: Sequence[float], current: Sequence[float]) -> Shift:
    """Compare a statistic's values over the baseline and current windows."""
    if not baseline or not current:
        return Shift(_mean(baseline), _mean(current), None)
    b_mean, c_mean = sum(baseline) / len(baseline), sum(current) / len(current)
    spread = math.sqrt(sum((v - b_mean) ** 2 for v in baseline) / len(baseline))
    spread = max(spread, 1e-6 * max(1.0, abs(b_mean)))
    return Shift(round(b_mean, 6), round(c_mean, 6), round((c_mean - b_mean) / spread, 3))


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None
