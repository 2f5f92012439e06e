"""Patient type and urgency of a study at intake, from what the clinic sent.

Patient type (outpatient / emergency / inpatient / health_check) decides the report time limit
and is a worklist filter. The rule, first match wins:

1. an explicit value from the order or the upload (``StudyFacts.patient_type``), in English or
   Chinese (``emergency``, ``ER``, ``急诊``; ``inpatient``, ``IP``, ``住院``; ``health_check``,
   ``体检``; ``outpatient``, ``OP``, ``门诊``);
2. DICOM Patient's Current Location (0038,0300), read for the same words and for ward words
   (``病房``, ``病区``, ``ward``, ``ICU``);
3. a DICOM Admission ID (0038,0010): an admission means an inpatient stay;
4. otherwise ``outpatient``, the usual case of a township clinic.

Urgency comes from DICOM Requested Procedure Priority (0040,1003): STAT is ``stat``, HIGH is
``urgent``, anything else (ROUTINE, MEDIUM, LOW, empty) ``routine``. An emergency patient's exam
is already timed as an emergency by the SLA rules whatever its urgency.
"""

from __future__ import annotations

import re
from enum import StrEnum


class PatientType(StrEnum):
    """Where the patient is being treated."""

    OUTPATIENT = "outpatient"
    EMERGENCY = "emergency"
    INPATIENT = "inpatient"
    HEALTH_CHECK = "health_check"


# Checked in this order: a location such as "急诊留观病房" is an emergency, not a ward.
_WORDS: tuple[tuple[PatientType, frozenset[str], tuple[str, ...]], ...] = (
    (
        PatientType.EMERGENCY,
        frozenset({"EMERGENCY", "EMERG", "ER", "ED", "EM", "A&E", "AE"}),
        ("急诊", "急救"),
    ),
    (
        PatientType.HEALTH_CHECK,
        frozenset({"HEALTH_CHECK", "HEALTHCHECK", "CHECKUP", "HC", "PHYSICAL"}),
        ("体检",),
    ),
    (
        PatientType.INPATIENT,
        frozenset({"INPATIENT", "IP", "WARD", "ICU", "BED"}),
        ("住院", "病房", "病区", "病床", "监护"),
    ),
    (
        PatientType.OUTPATIENT,
        frozenset({"OUTPATIENT", "OP", "CLINIC", "OPD"}),
        ("门诊",),
    ),
)
_TOKEN = re.compile(r"[A-Z&_]+")


def _classify(text: str) -> PatientType | None:
    upper = text.strip().upper()
    if not upper:
        return None
    tokens = set(_TOKEN.findall(upper.replace("HEALTH CHECK", "HEALTH_CHECK")))
    for kind, words, chinese in _WORDS:
        if tokens & words or any(word in upper for word in chinese):
            return kind
    return None


def patient_type_of(
    *, explicit: str = "", current_location: str = "", admission_id: str = ""
) -> PatientType:
    """Return the patient type by the rule of this module's docstring."""
    for source in (explicit, current_location):
        found = _classify(source)
        if found is not None:
            return found
    if admission_id.strip():
        return PatientType.INPATIENT
    return PatientType.OUTPATIENT


def urgency_of(requested_priority: str) -> str:
    """Return ``stat`` / ``urgent`` / ``routine`` from Requested Procedure Priority."""
    value = requested_priority.strip().upper()
    if value == "STAT":
        return "stat"
    if value in {"HIGH", "URGENT"}:
        return "urgent"
    return "routine"
