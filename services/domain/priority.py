"""The worklist priority score: transparent, explainable, computed from plain facts.

Higher is more urgent. Each component adds points and a phrase to the explanation, so a reader
sees why a study sits where it does ("critical AI finding: pneumothorax 0.93; STAT; due in 12 min").
The weights are per consortium, bounded by ``WEIGHT_RANGES`` so that each factor keeps its
priority band (see ``priority_band``). The due-soon window is one constant for every consortium:
the score, the ``due=due_soon`` filter, the list's ``due_status`` and the beat job share it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from enum import StrEnum
from typing import ClassVar

DUE_SOON_MINUTES = 30
DUE_SOON = timedelta(minutes=DUE_SOON_MINUTES)


class Severity(StrEnum):
    """How serious an AI finding is."""

    NORMAL = "normal"
    SIGNIFICANT = "significant"
    CRITICAL = "critical"


class Urgency(StrEnum):
    """The clinic's urgency for the exam."""

    ROUTINE = "routine"
    URGENT = "urgent"
    STAT = "stat"


class DuePhase(StrEnum):
    """Where an item stands against its due time; the score's due points follow it."""

    LATER = "later"
    DUE_SOON = "due_soon"
    OVERDUE = "overdue"


@dataclass(frozen=True)
class PriorityWeights:
    """Points per factor; configurable per consortium within ``WEIGHT_RANGES``."""

    critical: int = 600
    significant: int = 250
    normal: int = 0
    no_ai: int = 100  # unknown is ranked above a clean AI result: nobody has looked yet
    stat: int = 400
    urgent: int = 150
    overdue: int = 300
    due_soon: int = 150  # due within ``DUE_SOON_MINUTES``
    pediatric: int = 50
    # Not a weight: one window for score, filter and escalation, whatever the consortium.
    due_soon_minutes: ClassVar[int] = DUE_SOON_MINUTES

    @classmethod
    def names(cls) -> tuple[str, ...]:
        """Return the weight names, in declaration order."""
        return tuple(f.name for f in fields(cls))


# Inclusive bounds of each weight. They keep every factor alone in its band (priority_band):
# a critical finding is "critical"; STAT or overdue "high"; significant, urgent and due soon at
# least "normal"; a clean AI result "low". They also keep each factor's inner order
# (critical > significant > normal, STAT > urgent, overdue > due soon).
WEIGHT_RANGES: dict[str, tuple[int, int]] = {
    "critical": (600, 2000),
    "significant": (100, 599),
    "normal": (0, 99),
    "no_ai": (0, 299),
    "stat": (300, 599),
    "urgent": (100, 299),
    "overdue": (300, 599),
    "due_soon": (100, 299),
    "pediatric": (0, 299),
}


def out_of_range(weights: PriorityWeights) -> list[str]:
    """Return a sentence per weight outside ``WEIGHT_RANGES`` (empty when all are allowed)."""
    problems = []
    for name, (low, high) in WEIGHT_RANGES.items():
        value = getattr(weights, name)
        if not low <= value <= high:
            problems.append(f"{name} must be between {low} and {high}, not {value}")
    return problems


@dataclass(frozen=True)
class WorstFinding:
    """The most severe AI finding of a study."""

    label: str
    severity: Severity
    score: float


@dataclass(frozen=True)
class PriorityInputs:
    """Everything the score depends on."""

    ai_state: str  # "done" | "pending" | "failed" | "skipped"
    worst_finding: WorstFinding | None
    urgency: Urgency
    due_at: datetime | None
    now: datetime
    patient_age_years: int | None = None


@dataclass(frozen=True)
class Priority:
    """A score, the sentence explaining it, and when its due points next change (or None)."""

    score: int
    explanation: str
    rescore_at: datetime | None = field(default=None, compare=False)


def due_phase(due_at: datetime | None, now: datetime) -> DuePhase | None:
    """Return the due phase at ``now`` (the same boundaries as ``domain.sla.sla_state``)."""
    if due_at is None:
        return None
    if now >= due_at:
        return DuePhase.OVERDUE
    return DuePhase.DUE_SOON if due_at - now <= DUE_SOON else DuePhase.LATER


def next_phase_at(due_at: datetime | None, now: datetime) -> datetime | None:
    """Return when the due phase at ``now`` ends (the start of due-soon, the due time), or None."""
    phase = due_phase(due_at, now)
    if due_at is None or phase is DuePhase.OVERDUE:
        return None
    return due_at - DUE_SOON if phase is DuePhase.LATER else due_at


def due_text(due_at: datetime, now: datetime) -> str:
    """Return "due in N min" or "overdue by N min" at ``now``."""
    minutes = int((due_at - now).total_seconds() // 60)
    return f"overdue by {-minutes} min" if now >= due_at else f"due in {minutes} min"


_DUE_PHRASE = re.compile(r"^(due in -?\d+ min|overdue by -?\d+ min)$")


def explain_at(explanation: str, due_at: datetime | None, now: datetime) -> str:
    """Return a stored explanation with its due phrase rewritten for ``now``.

    The score is stored; the minutes in its sentence are rendered when read, so "due in 12 min"
    is true whenever the list is opened, not only when the item was last scored.
    """
    if due_at is None:
        return explanation
    parts = explanation.split("; ")
    for index, part in enumerate(parts):
        if _DUE_PHRASE.match(part):
            parts[index] = due_text(due_at, now)
            return "; ".join(parts)
    return explanation


def _ai_part(inputs: PriorityInputs, w: PriorityWeights) -> tuple[int, str]:
    finding = inputs.worst_finding
    if inputs.ai_state == "done" and finding is not None:
        points = {Severity.CRITICAL: w.critical, Severity.SIGNIFICANT: w.significant}.get(
            finding.severity, w.normal
        )
        return points, f"{finding.severity.value} AI finding: {finding.label} {finding.score:.2f}"
    if inputs.ai_state == "done":
        return w.normal, "AI: no finding"
    phrase = {"pending": "AI pending", "failed": "AI failed", "skipped": "no AI model applies"}
    return w.no_ai, phrase.get(inputs.ai_state, "no AI")


def _due_points(phase: DuePhase | None, w: PriorityWeights) -> int:
    if phase is DuePhase.OVERDUE:
        return w.overdue
    return w.due_soon if phase is DuePhase.DUE_SOON else 0


def compute_priority(inputs: PriorityInputs, weights: PriorityWeights | None = None) -> Priority:
    """Score a worklist item and explain the score in one line."""
    w = weights or PriorityWeights()
    ai_points, ai_phrase = _ai_part(inputs, w)
    urgency_points = {Urgency.STAT: w.stat, Urgency.URGENT: w.urgent}.get(inputs.urgency, 0)
    phase = due_phase(inputs.due_at, inputs.now)
    phrases = [ai_phrase]
    if inputs.urgency is not Urgency.ROUTINE:
        phrases.append(inputs.urgency.value.upper())
    if inputs.due_at is not None:
        phrases.append(due_text(inputs.due_at, inputs.now))
    pediatric = inputs.patient_age_years is not None and inputs.patient_age_years < 14
    if pediatric:
        phrases.append("pediatric")
    score = ai_points + urgency_points + _due_points(phase, w) + (w.pediatric if pediatric else 0)
    rescore_at = next_phase_at(inputs.due_at, inputs.now)
    return Priority(score=score, explanation="; ".join(phrases), rescore_at=rescore_at)
