"""Priority bands: the four words a reader filters by, cut from the numeric priority score.

Thresholds follow the default weights of ``services.domain.priority``:

- ``critical``  score >= 600: a critical AI finding alone (600), or STAT and overdue (700);
- ``high``      300..599: STAT (400), overdue (300), a significant finding plus urgency;
- ``normal``    100..299: no AI result yet (100), URGENT (150), due soon (150), significant (250);
- ``low``       < 100: AI looked and found nothing, routine, not near its due time.
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
