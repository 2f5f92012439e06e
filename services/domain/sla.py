"""Report due times, from common Chinese hospital report time limits.

Defaults (each reading agreement may override any of them):

- emergency radiograph 30 min; emergency head CT 30 min; other emergency CT/MR (and any other
  emergency exam) 1 h;
- routine radiograph 2 h;
- outpatient CT/MR (and health checks, other routine exams) 4 working hours;
- inpatient CT/MR 6 h;
- complex exams (PET, nuclear medicine, CTA/MRA, cardiac) 24 h unless they are emergencies.

Working hours follow the usual Chinese hospital day in Beijing time (UTC+8, no daylight saving):
08:00-12:00 and 14:00-17:30, Monday to Friday. Public holidays are not modelled.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone
from enum import StrEnum

RADIOGRAPH_MODALITIES = frozenset({"CR", "DX", "DR", "RF", "MG", "XA"})
CROSS_SECTIONAL = frozenset({"CT", "MR"})
COMPLEX_MODALITIES = frozenset({"PT", "NM"})
COMPLEX_WORDS = ("CTA", "MRA", "CARDIAC", "CORONARY", "心脏", "冠脉", "血管成像")
HEAD_WORDS = ("HEAD", "BRAIN", "SKULL", "头颅", "颅脑", "头部")
BEIJING = timezone(timedelta(hours=8), "Asia/Shanghai")
WORKING_WINDOWS = ((time(8, 0), time(12, 0)), (time(14, 0), time(17, 30)))
WORK_DAYS = frozenset({0, 1, 2, 3, 4})  # Monday..Friday


class SlaCategory(StrEnum):
    """The report time limit class of an exam."""

    EMERGENCY_RADIOGRAPH = "emergency_radiograph"
    EMERGENCY_HEAD_CT = "emergency_head_ct"
    EMERGENCY_CT_MR = "emergency_ct_mr"
    ROUTINE_RADIOGRAPH = "routine_radiograph"
    OUTPATIENT_CT_MR = "outpatient_ct_mr"
    INPATIENT = "inpatient"
    COMPLEX = "complex"


class SlaState(StrEnum):
    """Where an open item stands against its due time."""

    OK = "ok"
    DUE_SOON = "due_soon"
    BREACHED = "breached"


@dataclass(frozen=True)
class SlaLimit:
    """A report time limit: minutes, counted on the wall clock or in working hours only."""

    minutes: int
    working_hours: bool = False


DEFAULT_LIMITS: dict[SlaCategory, SlaLimit] = {
    SlaCategory.EMERGENCY_RADIOGRAPH: SlaLimit(30),
    SlaCategory.EMERGENCY_HEAD_CT: SlaLimit(30),
    SlaCategory.EMERGENCY_CT_MR: SlaLimit(60),
    SlaCategory.ROUTINE_RADIOGRAPH: SlaLimit(120),
    SlaCategory.OUTPATIENT_CT_MR: SlaLimit(240, working_hours=True),
    SlaCategory.INPATIENT: SlaLimit(360),
    SlaCategory.COMPLEX: SlaLimit(24 * 60),
}


@dataclass(frozen=True)
class ExamFacts:
    """The facts of a study that decide its time limit."""

    modality: str
    urgency: str = "routine"  # routine | urgent | stat
    patient_type: str = "outpatient"  # outpatient | emergency | inpatient | health_check
    body_part: str = ""
    description: str = ""


def _modalities(modality: str) -> set[str]:
    return {m.strip() for m in modality.upper().split("/") if m.strip()}


def _mentions(text: str, words: tuple[str, ...]) -> bool:
    upper = text.upper()
    return any(word in upper for word in words)


def _emergency(mods: set[str], words: str) -> SlaCategory:
    if mods & RADIOGRAPH_MODALITIES:
        return SlaCategory.EMERGENCY_RADIOGRAPH
    if "CT" in mods and _mentions(words, HEAD_WORDS):
        return SlaCategory.EMERGENCY_HEAD_CT
    return SlaCategory.EMERGENCY_CT_MR


def classify(exam: ExamFacts) -> SlaCategory:
    """Return the time limit class of an exam (the strictest rule that applies wins)."""
    mods = _modalities(exam.modality)
    if exam.urgency.lower() in {"stat", "urgent"} or exam.patient_type == "emergency":
        return _emergency(mods, f"{exam.body_part} {exam.description}")
    if mods & RADIOGRAPH_MODALITIES:
        return SlaCategory.ROUTINE_RADIOGRAPH
    if mods & COMPLEX_MODALITIES or _mentions(exam.description, COMPLEX_WORDS):
        return SlaCategory.COMPLEX
    if exam.patient_type == "inpatient":
        return SlaCategory.INPATIENT
    return SlaCategory.OUTPATIENT_CT_MR


def add_working_time(start: datetime, minutes: int) -> datetime:
    """Return the moment ``minutes`` of working time after ``start``, in ``start``'s zone."""
    remaining = timedelta(minutes=minutes)
    current = start.astimezone(BEIJING)
    while True:
        for opens, closes in WORKING_WINDOWS:
            if current.weekday() not in WORK_DAYS:
                break
            window_open = current.replace(
                hour=opens.hour, minute=opens.minute, second=0, microsecond=0
            )
            window_close = current.replace(
                hour=closes.hour, minute=closes.minute, second=0, microsecond=0
            )
            begin = max(current, window_open)
            if begin >= window_close:
                continue
            if begin + remaining <= window_close:
                return (begin + remaining).astimezone(start.tzinfo)
            remaining -= window_close - begin
            current = window_close
        midnight = current.replace(hour=0, minute=0, second=0, microsecond=0)
        current = midnight + timedelta(days=1)


def due_at(
    received_at: datetime,
    category: SlaCategory,
    limits: dict[SlaCategory, SlaLimit] | None = None,
) -> datetime:
    """Return when the report of an exam of ``category`` received at ``received_at`` is due."""
    limit = (limits or DEFAULT_LIMITS).get(category, DEFAULT_LIMITS[category])
    if limit.working_hours:
        return add_working_time(received_at, limit.minutes)
    return received_at + timedelta(minutes=limit.minutes)


def sla_state(due: datetime | None, now: datetime, *, warn_minutes: int) -> SlaState:
    """Return whether an open item is on time, due within ``warn_minutes``, or past due."""
    if due is None:
        return SlaState.OK
    if now >= due:
        return SlaState.BREACHED
    if due - now <= timedelta(minutes=warn_minutes):
        return SlaState.DUE_SOON
    return SlaState.OK


def report_due_at(received_at: datetime, *, modality: str, urgency: str) -> datetime:
    """Return when the report is due, on the wall clock (kept for existing callers).

    Emergency radiograph 30 min, emergency CT/MR 1 h, routine radiograph 2 h, other routine
    exams 4 h.
    """
    # A study may hold several modalities ("CT/DX"): any radiograph makes it a radiograph exam.
    radiograph = bool(_modalities(modality) & RADIOGRAPH_MODALITIES)
    if urgency.lower() in {"stat", "urgent"}:
        limit = timedelta(minutes=30) if radiograph else timedelta(hours=1)
    else:
        limit = timedelta(hours=2) if radiograph else timedelta(hours=4)
    return received_at + limit
