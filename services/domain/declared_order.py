"""What a clinic declares about a study when uploading it: urgency and patient type.

The DICOM a township clinic sends rarely carries Requested Procedure Priority or a patient
location, so the uploader may state both (STOW-RS query parameters, tus upload metadata,
``radbridge upload --urgency --patient-type``). A declared value wins over what the DICOM says
(rule 1 of ``services.domain.patient_type``). Only the enum values are accepted, so a typo is
refused at upload time instead of silently becoming "routine" / "outpatient".
"""

from __future__ import annotations

from dataclasses import dataclass

from services.domain.patient_type import PatientType
from services.domain.priority import Urgency

URGENCIES = tuple(u.value for u in (Urgency.STAT, Urgency.URGENT, Urgency.ROUTINE))
PATIENT_TYPES = tuple(p.value for p in PatientType)


class UnknownDeclaration(ValueError):
    """A declared urgency or patient type is not one of the accepted values."""


@dataclass(frozen=True)
class DeclaredOrder:
    """The declared values; ``""`` means not declared (the DICOM decides)."""

    urgency: str = ""
    patient_type: str = ""


def _normalized(value: str | None) -> str:
    return (value or "").strip().lower().replace("-", "_").replace(" ", "_")


def declared_order(*, urgency: str | None = None, patient_type: str | None = None) -> DeclaredOrder:
    """Return the declaration, or raise UnknownDeclaration naming the accepted values.

    Case does not matter, and ``health-check`` / ``health check`` mean ``health_check``.
    """
    found_urgency, found_type = _normalized(urgency), _normalized(patient_type)
    if found_urgency and found_urgency not in URGENCIES:
        raise UnknownDeclaration(f"Unknown urgency {urgency!r}; use one of {', '.join(URGENCIES)}.")
    if found_type and found_type not in PATIENT_TYPES:
        raise UnknownDeclaration(
            f"Unknown patient type {patient_type!r}; use one of {', '.join(PATIENT_TYPES)}."
        )
    return DeclaredOrder(urgency=found_urgency, patient_type=found_type)
