"""Report versions and sign-off: who may do what to which version, and what it is called outside.

A version is written (DRAFT), signed by its author, and, where the consortium asks for double
signing (双签), countersigned by a senior before it is final. Nothing signed ever changes: a
correction or an addendum is a new version that names the reason and the version it follows.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ReportStatus(StrEnum):
    """The state of one report version."""

    DRAFT = "DRAFT"
    PRELIMINARY = "PRELIMINARY"  # signed by its author, awaiting the senior's countersignature
    FINAL = "FINAL"
    CORRECTED = "CORRECTED"  # a correction of an earlier final version, itself final
    APPENDED = "APPENDED"  # an addendum to an earlier final version, itself final


class VersionKind(StrEnum):
    """Why a version exists."""

    ORIGINAL = "original"
    CORRECTION = "correction"
    ADDENDUM = "addendum"


SIGNED = frozenset(
    {ReportStatus.PRELIMINARY, ReportStatus.FINAL, ReportStatus.CORRECTED, ReportStatus.APPENDED}
)
COMPLETE = frozenset({ReportStatus.FINAL, ReportStatus.CORRECTED, ReportStatus.APPENDED})
# Older rows said AMENDED for a corrected version; read them the same way.
_ALIASES = {"AMENDED": ReportStatus.CORRECTED}

# HL7 v2 OBR-25 (result status, table 0123) and FHIR DiagnosticReport.status.
HL7_RESULT_STATUS = {
    ReportStatus.DRAFT: "P",
    ReportStatus.PRELIMINARY: "P",
    ReportStatus.FINAL: "F",
    ReportStatus.CORRECTED: "C",
    ReportStatus.APPENDED: "A",
}
FHIR_REPORT_STATUS = {
    ReportStatus.DRAFT: "preliminary",
    ReportStatus.PRELIMINARY: "preliminary",
    ReportStatus.FINAL: "final",
    ReportStatus.CORRECTED: "corrected",
    ReportStatus.APPENDED: "appended",
}


class SignOffViolation(Exception):
    """A sign-off step that the rules refuse; the message says what to do instead."""


def parse_status(value: str) -> ReportStatus:
    """Return the status named by a stored value (old aliases included)."""
    return _ALIASES.get(value) or ReportStatus(value)


def hl7_status(value: str) -> str:
    """Return the HL7 OBR-25 code of a stored status."""
    return HL7_RESULT_STATUS[parse_status(value)]


def fhir_status(value: str) -> str:
    """Return the FHIR DiagnosticReport.status of a stored status."""
    return FHIR_REPORT_STATUS[parse_status(value)]


def completed_status(kind: VersionKind) -> ReportStatus:
    """Return the status a version of ``kind`` has once it is fully signed."""
    return {
        VersionKind.ORIGINAL: ReportStatus.FINAL,
        VersionKind.CORRECTION: ReportStatus.CORRECTED,
        VersionKind.ADDENDUM: ReportStatus.APPENDED,
    }[kind]


@dataclass(frozen=True)
class SignaturePolicy:
    """A consortium's sign-off rule.

    ``double_signature``: a senior must countersign before a version is final.
    ``emergency_single_signature``: on emergency duty (nights, a lone reader) the author's
    signature alone may finalize, with a stated reason that is audited.
    """

    double_signature: bool = False
    emergency_single_signature: bool = True


def status_after_author_signature(
    kind: VersionKind, policy: SignaturePolicy, *, emergency: bool, author_is_senior: bool
) -> ReportStatus:
    """Return the status a draft takes when its author signs it.

    A senior's own report needs no second senior: the countersignature exists so that a
    senior has reviewed the report, which the author being senior already is.
    """
    if not policy.double_signature or author_is_senior:
        return completed_status(kind)
    if emergency:
        if not policy.emergency_single_signature:
            raise SignOffViolation(
                "This consortium does not allow single-signature reports on emergency duty; "
                "ask a senior radiologist to countersign."
            )
        return completed_status(kind)
    return ReportStatus.PRELIMINARY


def check_countersignature(*, status: str, author_id: object, reviewer_id: object) -> None:
    """Refuse a countersignature on anything but another reader's preliminary version."""
    if parse_status(status) != ReportStatus.PRELIMINARY:
        raise SignOffViolation("Only a report awaiting review (PRELIMINARY) can be countersigned.")
    if author_id == reviewer_id:
        raise SignOffViolation(
            "You wrote this report; a different senior radiologist must countersign it."
        )
