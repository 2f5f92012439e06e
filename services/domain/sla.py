"""Report due times, from common Chinese hospital report time limits."""

from __future__ import annotations

from datetime import datetime, timedelta

RADIOGRAPH_MODALITIES = frozenset({"CR", "DX", "DR", "RF", "MG", "XA"})


def report_due_at(received_at: datetime, *, modality: str, urgency: str) -> datetime:
    """Return when the report is due.

    Emergency radiograph 30 min, emergency CT/MR 1 h, routine radiograph 2 h, other routine
    exams 4 h.
    """
    # A study may hold several modalities ("CT/DX"): any radiograph makes it a radiograph exam.
    radiograph = bool(set(modality.upper().split("/")) & RADIOGRAPH_MODALITIES)
    if urgency.lower() in {"stat", "urgent"}:
        limit = timedelta(minutes=30) if radiograph else timedelta(hours=1)
    else:
        limit = timedelta(hours=2) if radiograph else timedelta(hours=4)
    return received_at + limit
