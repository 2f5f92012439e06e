"""Pure rules: SLA categories and due times, push assignment, percentiles, patient matching."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from services.domain.assignment import ReaderLoad, Subspecialty, pick_reader, subspecialty_for
from services.domain.patient_match import MatchBasis, keys_of, match
from services.domain.sla import (
    ExamFacts,
    SlaCategory,
    SlaLimit,
    SlaState,
    add_working_time,
    classify,
    due_at,
    sla_state,
)
from services.domain.turnaround import percentile, summarize

pytestmark = pytest.mark.unit

MONDAY_9 = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)  # 09:00 Beijing, a Monday


class TestClassify:
    @pytest.mark.parametrize(
        ("exam", "category", "minutes"),
        [
            (ExamFacts("DX", urgency="stat"), SlaCategory.EMERGENCY_RADIOGRAPH, 30),
            (ExamFacts("CT", urgency="stat", body_part="HEAD"), SlaCategory.EMERGENCY_HEAD_CT, 30),
            (
                ExamFacts("CT", patient_type="emergency", description="头颅平扫"),
                SlaCategory.EMERGENCY_HEAD_CT,
                30,
            ),
            (ExamFacts("MR", urgency="urgent"), SlaCategory.EMERGENCY_CT_MR, 60),
            (ExamFacts("CR"), SlaCategory.ROUTINE_RADIOGRAPH, 120),
            (ExamFacts("CT", patient_type="inpatient"), SlaCategory.INPATIENT, 360),
            (ExamFacts("PT"), SlaCategory.COMPLEX, 24 * 60),
            (ExamFacts("CT", description="Coronary CTA"), SlaCategory.COMPLEX, 24 * 60),
        ],
    )
    def test_wall_clock_categories(
        self, exam: ExamFacts, category: SlaCategory, minutes: int
    ) -> None:
        assert classify(exam) is category
        assert due_at(MONDAY_9, category) == MONDAY_9 + timedelta(minutes=minutes)

    def test_outpatient_ct_counts_working_hours(self) -> None:
        assert classify(ExamFacts("CT")) is SlaCategory.OUTPATIENT_CT_MR
        # 09:00 + 3 h to noon, lunch until 14:00, then 1 h more: 15:00 Beijing
        assert due_at(MONDAY_9, SlaCategory.OUTPATIENT_CT_MR) == MONDAY_9 + timedelta(hours=6)

    def test_working_hours_skip_the_weekend(self) -> None:
        friday_17 = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)  # 17:00 Beijing
        # 30 min on Friday, then 3.5 h from Monday 08:00: 11:30 Beijing Monday
        assert add_working_time(friday_17, 240) == datetime(2026, 11, 30, 3, 30, tzinfo=UTC)

    def test_override_replaces_the_default(self) -> None:
        limits = {SlaCategory.ROUTINE_RADIOGRAPH: SlaLimit(45)}
        assert due_at(MONDAY_9, SlaCategory.ROUTINE_RADIOGRAPH, limits) == MONDAY_9 + timedelta(
            minutes=45
        )

    def test_states(self) -> None:
        due = MONDAY_9 + timedelta(minutes=10)
        assert sla_state(due, MONDAY_9, warn_minutes=5) is SlaState.OK
        assert sla_state(due, MONDAY_9, warn_minutes=15) is SlaState.DUE_SOON
        assert sla_state(due, due, warn_minutes=15) is SlaState.BREACHED
        assert sla_state(None, MONDAY_9, warn_minutes=15) is SlaState.OK


def _load(name: str, subs: set[str], load: int, cap: int = 10) -> ReaderLoad:
    return ReaderLoad(uuid.uuid5(uuid.NAMESPACE_DNS, name), name, frozenset(subs), load, cap)


class TestPickReader:
    def test_least_loaded_specialist_wins(self) -> None:
        readers = [_load("a", {"chest"}, 3), _load("b", {"chest"}, 1), _load("c", {"neuro"}, 0)]
        assert pick_reader(readers, Subspecialty.CHEST) == readers[1].user_id

    def test_full_specialists_fall_back_to_general_then_none(self) -> None:
        readers = [_load("a", {"chest"}, 10), _load("g", {"general"}, 4)]
        assert pick_reader(readers, Subspecialty.CHEST) == readers[1].user_id
        assert pick_reader(readers[:1], Subspecialty.CHEST) is None

    def test_subspecialty_of_exams(self) -> None:
        assert subspecialty_for(modality="CT", body_part="HEAD") is Subspecialty.NEURO
        assert subspecialty_for(modality="MG", body_part="") is Subspecialty.BREAST
        assert (
            subspecialty_for(modality="DX", body_part="", description="胸部正位")
            is Subspecialty.CHEST
        )
        assert subspecialty_for(modality="US", body_part="") is Subspecialty.GENERAL


class TestPercentiles:
    def test_linear_interpolation(self) -> None:
        assert percentile([10, 20, 30, 40], 50) == 25
        assert percentile([40, 10, 30, 20], 90) == pytest.approx(37)
        assert percentile([5], 95) == 5
        assert summarize([]).count == 0


class TestPatientMatch:
    A = keys_of(issuer="t/a", patient_id="1", name="Zhang^San", birth_date="19600101", sex="M")

    def test_same_id_and_issuer(self) -> None:
        other = keys_of(issuer="t/a", patient_id="1", name="", birth_date="", sex="")
        assert match(self.A, other) is MatchBasis.PATIENT_ID

    def test_fallback_needs_name_and_birth_date_and_no_sex_conflict(self) -> None:
        same = keys_of(
            issuer="t/b", patient_id="9", name="ZHANG SAN", birth_date="19600101", sex=""
        )
        assert match(self.A, same) is MatchBasis.NAME_BIRTH_DATE
        for birth, sex in (("", "M"), ("19610101", "M"), ("19600101", "F")):
            near = keys_of(
                issuer="t/b", patient_id="9", name="Zhang^San", birth_date=birth, sex=sex
            )
            assert match(self.A, near) is None

    def test_same_id_from_another_issuer_is_not_identity(self) -> None:
        other = keys_of(issuer="t/b", patient_id="1", name="Li^Si", birth_date="19900101", sex="F")
        assert match(self.A, other) is None
