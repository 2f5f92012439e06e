"""Declared urgency / patient type: enum values only, case and separators forgiven."""

from __future__ import annotations

import pytest

from services.domain.declared_order import DeclaredOrder, UnknownDeclaration, declared_order

pytestmark = pytest.mark.unit


class TestDeclaredOrder:
    def test_nothing_declared_is_empty(self) -> None:
        assert declared_order() == DeclaredOrder("", "")

    @pytest.mark.parametrize(
        ("urgency", "patient_type", "expected"),
        [
            ("STAT", "Emergency", DeclaredOrder("stat", "emergency")),
            (" urgent ", "health-check", DeclaredOrder("urgent", "health_check")),
            ("routine", "Health Check", DeclaredOrder("routine", "health_check")),
            (None, "inpatient", DeclaredOrder("", "inpatient")),
        ],
    )
    def test_accepted_values_are_normalized(
        self, urgency: str | None, patient_type: str, expected: DeclaredOrder
    ) -> None:
        assert declared_order(urgency=urgency, patient_type=patient_type) == expected

    @pytest.mark.parametrize(
        ("urgency", "patient_type", "named"),
        [("asap", None, "stat, urgent, routine"), (None, "急诊", "health_check")],
    )
    def test_unknown_values_name_the_accepted_ones(
        self, urgency: str | None, patient_type: str | None, named: str
    ) -> None:
        with pytest.raises(UnknownDeclaration, match=named):
            declared_order(urgency=urgency, patient_type=patient_type)
