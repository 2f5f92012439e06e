from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.domain.sla import report_due_at

pytestmark = pytest.mark.unit

RECEIVED = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)


class TestReportDueAt:
    @pytest.mark.parametrize("modality", ["CR", "DX", "DR", "RF", "MG", "XA"])
    @pytest.mark.parametrize("urgency", ["stat", "urgent"])
    def test_emergency_radiograph_is_due_in_30_minutes(self, modality: str, urgency: str) -> None:
        due = report_due_at(RECEIVED, modality=modality, urgency=urgency)
        assert due - RECEIVED == timedelta(minutes=30)

    @pytest.mark.parametrize("modality", ["CT", "MR", "US", "NM"])
    @pytest.mark.parametrize("urgency", ["stat", "urgent"])
    def test_emergency_ct_mr_and_other_is_due_in_1_hour(self, modality: str, urgency: str) -> None:
        due = report_due_at(RECEIVED, modality=modality, urgency=urgency)
        assert due - RECEIVED == timedelta(hours=1)

    @pytest.mark.parametrize("modality", ["CR", "DX", "DR", "RF", "MG", "XA"])
    def test_routine_radiograph_is_due_in_2_hours(self, modality: str) -> None:
        due = report_due_at(RECEIVED, modality=modality, urgency="routine")
        assert due - RECEIVED == timedelta(hours=2)

    @pytest.mark.parametrize("modality", ["CT", "MR", "US", ""])
    def test_routine_other_exam_is_due_in_4_hours(self, modality: str) -> None:
        due = report_due_at(RECEIVED, modality=modality, urgency="routine")
        assert due - RECEIVED == timedelta(hours=4)

    def test_modality_is_case_insensitive(self) -> None:
        assert report_due_at(RECEIVED, modality="dx", urgency="routine") == RECEIVED + timedelta(
            hours=2
        )

    def test_due_time_keeps_the_received_time_zone(self) -> None:
        due = report_due_at(RECEIVED, modality="CT", urgency="routine")
        assert due.tzinfo is UTC
        assert due == datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
