"""Shift DICOM dates by whole days, the Modified Dates option's "clean" of DA and DT values.

Whole days keep every interval between a patient's events and leave times of day (TM) as they
were. A value we cannot parse is emptied rather than passed through: an unshifted date could
identify the patient.
"""

from __future__ import annotations

from datetime import date, timedelta


def shift_da(value: str, days: int) -> str:
    """Return a DA value (``YYYYMMDD``, also a ``-`` range) moved ``days`` earlier, or ""."""
    parts = value.strip().split("-")
    shifted = [_shift_date(p, days) for p in parts]
    if None in shifted:
        return ""
    return "-".join(s or "" for s in shifted)


def shift_dt(value: str, days: int) -> str:
    """Return a DT value with its date part moved ``days`` earlier (time and offset kept)."""
    text = value.strip()
    if len(text) < 8:
        return ""  # year or year-month only: too coarse to shift, too risky to keep
    moved = _shift_date(text[:8], days)
    return "" if not moved else moved + text[8:]


def _shift_date(text: str, days: int) -> str | None:
    """Return ``text`` shifted, "" for an empty range end, None if it is not a full date."""
    compact = text.strip().replace(".", "")  # ACR-NEMA wrote YYYY.MM.DD
    if not compact:
        return ""
    if len(compact) != 8 or not compact.isdigit():
        return None
    try:
        day = date(int(compact[:4]), int(compact[4:6]), int(compact[6:]))
        return (day - timedelta(days=days)).strftime("%Y%m%d")
    except (ValueError, OverflowError):
        return None
