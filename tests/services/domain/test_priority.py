from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.domain.priority import (
    Priority,
    PriorityInputs,
    PriorityWeights,
    Severity,
    Urgency,
    WorstFinding,
    compute_priority,
)

pytestmark = pytest.mark.unit

NOW = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
PNEUMOTHORAX = WorstFinding("pneumothorax", Severity.CRITICAL, 0.93)
NODULE = WorstFinding("nodule", Severity.SIGNIFICANT, 0.71)
CLEAN = WorstFinding("no abnormality", Severity.NORMAL, 0.12)


def _priority(
    *,
    ai_state: str = "done",
    finding: WorstFinding | None = None,
    urgency: Urgency = Urgency.ROUTINE,
    due_in: timedelta | None = None,
    age: int | None = None,
    weights: PriorityWeights | None = None,
) -> Priority:
    inputs = PriorityInputs(
        ai_state=ai_state,
        worst_finding=finding,
        urgency=urgency,
        due_at=None if due_in is None else NOW + due_in,
        now=NOW,
        patient_age_years=age,
    )
    return compute_priority(inputs, weights)


class TestRanking:
    def test_critical_finding_on_routine_exam_outranks_clean_stat_exam(self) -> None:
        critical = _priority(finding=PNEUMOTHORAX)
        stat = _priority(finding=CLEAN, urgency=Urgency.STAT)
        assert critical.score > stat.score

    def test_critical_finding_on_routine_exam_outranks_stat_exam_awaiting_ai(self) -> None:
        critical = _priority(finding=PNEUMOTHORAX)
        stat_pending = _priority(ai_state="pending", urgency=Urgency.STAT)
        assert critical.score > stat_pending.score

    def test_stat_outranks_urgent_outranks_routine(self) -> None:
        stat, urgent, routine = (
            _priority(finding=CLEAN, urgency=u).score
            for u in (Urgency.STAT, Urgency.URGENT, Urgency.ROUTINE)
        )
        assert stat > urgent > routine

    def test_severity_orders_critical_significant_normal(self) -> None:
        critical, significant, normal = (
            _priority(finding=f).score for f in (PNEUMOTHORAX, NODULE, CLEAN)
        )
        assert critical > significant > normal

    @pytest.mark.parametrize("ai_state", ["pending", "failed", "skipped"])
    def test_study_without_ai_result_outranks_clean_ai_result(self, ai_state: str) -> None:
        assert _priority(ai_state=ai_state).score > _priority(finding=CLEAN).score

    def test_overdue_outranks_due_soon_outranks_due_later(self) -> None:
        overdue = _priority(due_in=timedelta(minutes=-5))
        soon = _priority(due_in=timedelta(minutes=12))
        later = _priority(due_in=timedelta(hours=3))
        assert overdue.score > soon.score > later.score

    def test_score_adds_the_weights_of_every_factor(self) -> None:
        w = PriorityWeights()
        priority = _priority(
            finding=PNEUMOTHORAX, urgency=Urgency.STAT, due_in=timedelta(minutes=-1), age=3
        )
        assert priority.score == w.critical + w.stat + w.overdue + w.pediatric

    def test_custom_weights_are_used(self) -> None:
        weights = PriorityWeights(critical=10, stat=1000)
        critical = _priority(finding=PNEUMOTHORAX, weights=weights)
        stat = _priority(finding=CLEAN, urgency=Urgency.STAT, weights=weights)
        assert (critical.score, stat.score) == (10, 1000)


class TestExplanation:
    def test_names_finding_urgency_and_due_time(self) -> None:
        priority = _priority(
            finding=PNEUMOTHORAX, urgency=Urgency.STAT, due_in=timedelta(minutes=12)
        )
        assert priority.explanation == "critical AI finding: pneumothorax 0.93; STAT; due in 12 min"

    def test_significant_finding_is_named(self) -> None:
        assert _priority(finding=NODULE).explanation == "significant AI finding: nodule 0.71"

    def test_done_without_finding(self) -> None:
        assert _priority(finding=None).explanation == "AI: no finding"

    @pytest.mark.parametrize(
        ("ai_state", "phrase"),
        [("pending", "AI pending"), ("failed", "AI failed"), ("skipped", "no AI model applies")],
    )
    def test_ai_state_phrase(self, ai_state: str, phrase: str) -> None:
        assert _priority(ai_state=ai_state).explanation == phrase

    def test_pending_ai_ignores_a_finding_of_an_earlier_run(self) -> None:
        priority = _priority(ai_state="pending", finding=PNEUMOTHORAX)
        assert priority.explanation == "AI pending"
        assert priority.score == PriorityWeights().no_ai

    def test_urgent_is_written_in_capitals(self) -> None:
        assert _priority(finding=CLEAN, urgency=Urgency.URGENT).explanation.endswith("; URGENT")

    def test_routine_is_not_mentioned(self) -> None:
        assert "ROUTINE" not in _priority(finding=CLEAN).explanation.upper()

    def test_overdue_says_by_how_many_minutes(self) -> None:
        explanation = _priority(due_in=timedelta(minutes=-45)).explanation
        assert explanation.endswith("; overdue by 45 min")

    def test_due_later_is_explained_without_points(self) -> None:
        priority = _priority(finding=CLEAN, due_in=timedelta(hours=2))
        assert priority == Priority(
            score=0, explanation="normal AI finding: no abnormality 0.12; due in 120 min"
        )

    def test_no_due_time_is_not_mentioned(self) -> None:
        assert "due" not in _priority(finding=CLEAN).explanation


class TestDueThreshold:
    def test_due_exactly_at_threshold_counts_as_soon(self) -> None:
        w = PriorityWeights()
        priority = _priority(finding=CLEAN, due_in=timedelta(minutes=w.due_soon_minutes))
        assert priority.score == w.due_soon

    def test_due_one_minute_after_threshold_gets_no_points(self) -> None:
        w = PriorityWeights()
        priority = _priority(finding=CLEAN, due_in=timedelta(minutes=w.due_soon_minutes + 1))
        assert priority.score == 0

    def test_seconds_past_due_is_overdue(self) -> None:
        priority = _priority(finding=CLEAN, due_in=timedelta(seconds=-30))
        assert priority.score == PriorityWeights().overdue
        assert priority.explanation.endswith("overdue by 1 min")


class TestPediatric:
    @pytest.mark.parametrize("age", [0, 5, 13])
    def test_child_gets_bonus_and_mention(self, age: int) -> None:
        priority = _priority(finding=CLEAN, age=age)
        assert priority.score == PriorityWeights().pediatric
        assert priority.explanation.endswith("; pediatric")

    @pytest.mark.parametrize("age", [14, 40, None])
    def test_adult_or_unknown_age_gets_none(self, age: int | None) -> None:
        priority = _priority(finding=CLEAN, age=age)
        assert priority.score == 0
        assert "pediatric" not in priority.explanation

    def test_bonus_breaks_a_tie_between_otherwise_equal_studies(self) -> None:
        child = _priority(finding=NODULE, urgency=Urgency.URGENT, age=4)
        adult = _priority(finding=NODULE, urgency=Urgency.URGENT, age=54)
        assert child.score > adult.score
