"""The intake rule for patient type and urgency (services/domain/patient_type.py)."""

from __future__ import annotations

import pytest

from services.domain.patient_type import PatientType, patient_type_of, urgency_of

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("facts", "expected"),
    [
        ({}, PatientType.OUTPATIENT),
        ({"explicit": "emergency"}, PatientType.EMERGENCY),
        ({"explicit": "ER"}, PatientType.EMERGENCY),
        ({"explicit": "体检"}, PatientType.HEALTH_CHECK),
        ({"explicit": "Health Check"}, PatientType.HEALTH_CHECK),
        ({"explicit": "IP"}, PatientType.INPATIENT),
        ({"explicit": "门诊", "admission_id": "ZY-1"}, PatientType.OUTPATIENT),  # order wins
        ({"current_location": "急诊留观病房"}, PatientType.EMERGENCY),  # not a ward stay
        ({"current_location": "内科病区 12床"}, PatientType.INPATIENT),
        ({"current_location": "Ward 3B"}, PatientType.INPATIENT),
        ({"current_location": "OPERATOR ROOM"}, PatientType.OUTPATIENT),  # no word "OP"/"ER"
        ({"admission_id": "ZY-2026-0042"}, PatientType.INPATIENT),
        ({"explicit": "vip", "current_location": "?"}, PatientType.OUTPATIENT),
    ],
)
def test_patient_type_rule(facts: dict[str, str], expected: PatientType) -> None:
    assert patient_type_of(**facts) is expected


@pytest.mark.parametrize(
    ("priority", "urgency"),
    [
        ("STAT", "stat"),
        (" stat ", "stat"),
        ("HIGH", "urgent"),
        ("ROUTINE", "routine"),
        ("", "routine"),
    ],
)
def test_urgency_from_requested_procedure_priority(priority: str, urgency: str) -> None:
    assert urgency_of(priority) == urgency
