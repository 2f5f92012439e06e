"""The worklist priority score: transparent, explainable, computed from plain facts.

Higher is more urgent. Each component adds points and a phrase to the explanation, so a reader
sees why a study sits where it does ("critical AI finding: pneumothorax 0.93; STAT; due in 12 min").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


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


@dataclass(frozen=True)
class PriorityWeights:
    """Points per factor; configurable per consortium."""

    critical: int = 600
    significant: int = 250
    normal: int = 0
    no_ai: int = 100  # unknown is ranked above a clean AI result: nobody has looked yet
    stat: int = 400
    urgent: int = 150
    overdue: int = 300
    due_soon: int = 150  # due within ``due_soon_minutes``
    due_soon_minutes: int = 30
    pediatric: int = 50


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
    """A score and the sentence explaining it."""

    score: int
    explanation: str


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


def _due_part(inputs: PriorityInputs, w: PriorityWeights) -> tuple[int, str | None]:
    if inputs.due_at is None:
        return 0, None
    minutes = int((inputs.due_at - inputs.now).total_seconds() // 60)
    if minutes < 0:
        return w.overdue, f"overdue by {-minutes} min"
    if minutes <= w.due_soon_minutes:
        return w.due_soon, f"due in {minutes} min"
    return 0, f"due in {minutes} min"


def compute_priority(inputs: PriorityInputs, weights: PriorityWeights | None = None) -> Priority:
    """Score a worklist item and explain the score in one line."""
    w = weights or PriorityWeights()
    ai_points, ai_phrase = _ai_part(inputs, w)
    urgency_points = {Urgency.STAT: w.stat, Urgency.URGENT: w.urgent}.get(inputs.urgency, 0)
    due_points, due_phrase = _due_part(inputs, w)
    phrases = [ai_phrase]
    if inputs.urgency is not Urgency.ROUTINE:
        phrases.append(inputs.urgency.value.upper())
    if due_phrase:
        phrases.append(due_phrase)
    pediatric = inputs.patient_age_years is not None and inputs.patient_age_years < 14
    if pediatric:
        phrases.append("pediatric")
    score = ai_points + urgency_points + due_points + (w.pediatric if pediatric else 0)
    return Priority(score=score, explanation="; ".join(phrases))
