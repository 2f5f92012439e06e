"""Priority bands: the four words a reader filters by, cut from the numeric priority score.

The cut-offs are absolute, the same for every consortium, and the per-consortium weights are
bounded instead (``priority.WEIGHT_RANGES``) so that each factor alone stays in its band
whatever the weights:

- ``critical``  score >= 600: a critical AI finding alone (weight 600..2000), or sums such as
  STAT and overdue;
- ``high``      300..599: STAT (300..599) or overdue (300..599) alone;
- ``normal``    100..299: URGENT, due soon (100..299 each), a significant finding (100..599);
- ``low``       < 100: AI looked and found nothing (0..99), routine, not near its due time.

No AI result yet (0..299) and pediatric (0..299) may sit in ``low`` or ``normal`` alone, so a
consortium without AI, or without a pediatric rule, can set them to 0.

Why absolute rather than moved with the weights: the band filter stays one indexed range on the
stored score with no per-request lookup, and turnaround figures per band compare across a
weight change and across consortia. What a band means is kept by the weight bounds.
"""

from __future__ import annotations

from enum import StrEnum


class PriorityBand(StrEnum):
    """A named range of priority scores."""

    CRITICAL = "critical"
    HIGH = "high"
    NORMAL = "normal"
    LOW = "low"


# Inclusive lower bound and exclusive upper bound (None: unbounded) of each band.
BAND_RANGES: dict[PriorityBand, tuple[int | None, int | None]] = {
    PriorityBand.CRITICAL: (600, None),
    PriorityBand.HIGH: (300, 600),
    PriorityBand.NORMAL: (100, 300),
    PriorityBand.LOW: (None, 100),
}


def band_of(score: int) -> PriorityBand:
    """Return the band a priority score falls in."""
    for band, (low, high) in BAND_RANGES.items():
        if (low is None or score >= low) and (high is None or score < high):
            return band
    return PriorityBand.LOW  # pragma: no cover - the ranges cover every integer
