"""Coded concepts in report templates: the code systems we accept and how their codes look.

A template may only use codes from the curated vocabulary shipped with RadBridge; before the
lookup, each code's shape is checked (a SNOMED CT identifier carries a Verhoeff check digit,
a RadLex identifier is ``RID`` and digits), so a typo is reported as a typo.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

SNOMED_CT = "SNOMED CT"
RADLEX = "RadLex"
LOINC = "LOINC"
LOCAL = "RadBridge"  # concepts no standard terminology names precisely (kept visible as local)

SYSTEM_URIS = {
    SNOMED_CT: "http://snomed.info/sct",
    RADLEX: "http://radlex.org",
    LOINC: "http://loinc.org",
    LOCAL: "urn:radbridge:concept",
}

_RADLEX = re.compile(r"RID\d{1,6}")
_LOINC = re.compile(r"\d{1,7}-\d")
_LOCAL = re.compile(r"[a-z][a-z0-9.-]{1,63}")

# Verhoeff's dihedral-group tables (the check digit scheme of SNOMED CT identifiers).
_D = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    [1, 2, 3, 4, 0, 6, 7, 8, 9, 5],
    [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
    [3, 4, 0, 1, 2, 8, 9, 5, 6, 7],
    [4, 0, 1, 2, 3, 9, 5, 6, 7, 8],
    [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
    [6, 5, 9, 8, 7, 1, 0, 4, 3, 2],
    [7, 6, 5, 9, 8, 2, 1, 0, 4, 3],
    [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
    [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
]
# Row k of the permutation table applies the first permutation k times.
_FIRST = (1, 5, 7, 6, 2, 8, 3, 0, 9, 4)
_P = [list(range(10))]
for _ in range(7):
    _P.append([_FIRST[digit] for digit in _P[-1]])


@dataclass(frozen=True)
class Concept:
    """One coded concept: code system, code and its display name."""

    system: str
    code: str
    display: str


def verhoeff_valid(digits: str) -> bool:
    """Return whether ``digits`` ends in a correct Verhoeff check digit."""
    check = 0
    for position, char in enumerate(reversed(digits)):
        check = _D[check][_P[position % 8][int(char)]]
    return check == 0


def shape_problem(system: str, code: str) -> str | None:
    """Return why ``code`` cannot be a code of ``system``, or None if it looks right."""
    if system not in SYSTEM_URIS:
        return f"unknown code system {system!r} (use one of {sorted(SYSTEM_URIS)})"
    if system == SNOMED_CT:
        if not (code.isdigit() and 6 <= len(code) <= 18):
            return f"SNOMED CT code {code!r} must be 6-18 digits"
        if not verhoeff_valid(code):
            return f"SNOMED CT code {code!r} fails its check digit (a typo?)"
        return None
    pattern = {RADLEX: _RADLEX, LOINC: _LOINC, LOCAL: _LOCAL}[system]
    if not pattern.fullmatch(code):
        return f"{system} code {code!r} is not shaped like one"
    return None


def resolve(
    vocabulary: Mapping[tuple[str, str], str], system: str, code: str
) -> tuple[Concept | None, str | None]:
    """Return the concept for ``(system, code)``, or None and the reason it is refused."""
    problem = shape_problem(system, code)
    if problem is not None:
        return None, problem
    display = vocabulary.get((system, code))
    if display is None:
        return None, f"unknown {system} code {code!r} (not in the RadBridge vocabulary)"
    return Concept(system, code, display), None
