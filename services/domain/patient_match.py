"""Matching a patient's studies across the clinics of a consortium.

Identity is the patient ID together with its issuer (each clinic numbers its own patients).
The fallback, for studies whose IDs come from different issuers, needs the same normalized name
AND the same full birth date, and no contradicting sex. A name alone never matches.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

_NAME_NOISE = re.compile(r"[\s\^,.\-·•'’_]+")
_BIRTH_DATE = re.compile(r"^(19|20)\d{2}(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])$")


class MatchBasis(StrEnum):
    """Why a study is listed as a prior."""

    PATIENT_ID = "patient_id"  # same patient ID from the same issuer
    NAME_BIRTH_DATE = "name_birth_date"  # guarded fallback: probable, shown as such


@dataclass(frozen=True)
class PatientKeys:
    """The keys of one study's patient."""

    issuer: str
    patient_id: str
    name_key: str
    birth_date: str
    sex: str


def name_key(name: str) -> str:
    """Return a DICOM person name folded for comparison ("Zhang^San" -> "ZHANGSAN")."""
    return _NAME_NOISE.sub("", name).upper()


def keys_of(*, issuer: str, patient_id: str, name: str, birth_date: str, sex: str) -> PatientKeys:
    """Return the normalized keys of a patient as a study states them."""
    return PatientKeys(
        issuer=issuer.strip(),
        patient_id=patient_id.strip(),
        name_key=name_key(name),
        birth_date=birth_date.strip(),
        sex=sex.strip().upper()[:1],
    )


def has_identity(keys: PatientKeys) -> bool:
    """Return whether the keys carry a usable patient ID and issuer."""
    return bool(keys.issuer and keys.patient_id)


def fallback_usable(keys: PatientKeys) -> bool:
    """Return whether the name + birth date fallback may be tried (both present and valid)."""
    return len(keys.name_key) >= 2 and bool(_BIRTH_DATE.match(keys.birth_date))


def match(current: PatientKeys, other: PatientKeys) -> MatchBasis | None:
    """Return why ``other`` is the same patient as ``current``, or None."""
    if has_identity(current) and (current.issuer, current.patient_id) == (
        other.issuer,
        other.patient_id,
    ):
        return MatchBasis.PATIENT_ID
    if not (fallback_usable(current) and fallback_usable(other)):
        return None
    if (current.name_key, current.birth_date) != (other.name_key, other.birth_date):
        return None
    if current.sex in {"M", "F"} and other.sex in {"M", "F"} and current.sex != other.sex:
        return None
    return MatchBasis.NAME_BIRTH_DATE
