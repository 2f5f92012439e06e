"""The pure rules: sign-off states and their HL7/FHIR names, code shapes, narrative checks."""

from __future__ import annotations

import pytest

from services.domain.clinical_codes import resolve, shape_problem, verhoeff_valid
from services.domain.report_lifecycle import (
    ReportStatus,
    SignaturePolicy,
    SignOffViolation,
    VersionKind,
    check_countersignature,
    fhir_status,
    hl7_status,
    status_after_author_signature,
)

pytestmark = pytest.mark.unit


class TestStatusNames:
    @pytest.mark.parametrize(
        ("status", "hl7", "fhir"),
        [
            ("PRELIMINARY", "P", "preliminary"),
            ("FINAL", "F", "final"),
            ("CORRECTED", "C", "corrected"),
            ("APPENDED", "A", "appended"),
            ("AMENDED", "C", "corrected"),  # rows written before versions had kinds
        ],
    )
    def test_hl7_obr25_and_fhir_status(self, status: str, hl7: str, fhir: str) -> None:
        assert (hl7_status(status), fhir_status(status)) == (hl7, fhir)


class TestAuthorSignature:
    def test_single_signature_consortium_finalizes(self) -> None:
        status = status_after_author_signature(
            VersionKind.ORIGINAL, SignaturePolicy(), emergency=False, author_is_senior=False
        )
        assert status == ReportStatus.FINAL

    def test_double_signature_waits_for_review(self) -> None:
        status = status_after_author_signature(
            VersionKind.CORRECTION,
            SignaturePolicy(double_signature=True),
            emergency=False,
            author_is_senior=False,
        )
        assert status == ReportStatus.PRELIMINARY

    def test_emergency_exception_finalizes_a_correction_as_corrected(self) -> None:
        status = status_after_author_signature(
            VersionKind.CORRECTION,
            SignaturePolicy(double_signature=True),
            emergency=True,
            author_is_senior=False,
        )
        assert status == ReportStatus.CORRECTED

    def test_emergency_refused_where_the_consortium_forbids_it(self) -> None:
        with pytest.raises(SignOffViolation, match="does not allow single-signature"):
            status_after_author_signature(
                VersionKind.ORIGINAL,
                SignaturePolicy(double_signature=True, emergency_single_signature=False),
                emergency=True,
                author_is_senior=False,
            )

    def test_a_senior_author_needs_no_second_senior(self) -> None:
        status = status_after_author_signature(
            VersionKind.ADDENDUM,
            SignaturePolicy(double_signature=True),
            emergency=False,
            author_is_senior=True,
        )
        assert status == ReportStatus.APPENDED

    def test_countersigning_your_own_report(self) -> None:
        with pytest.raises(SignOffViolation, match="You wrote this report"):
            check_countersignature(status="PRELIMINARY", author_id=1, reviewer_id=1)


class TestCodes:
    @pytest.mark.parametrize("code", ["36118008", "60046008", "1386000", "4855003", "8186001"])
    def test_real_snomed_ids_pass_their_check_digit(self, code: str) -> None:
        assert verhoeff_valid(code)

    def test_a_typo_is_named_a_typo(self) -> None:
        assert shape_problem("SNOMED CT", "36118009") == (
            "SNOMED CT code '36118009' fails its check digit (a typo?)"
        )

    def test_unknown_system_and_unknown_code(self) -> None:
        assert "unknown code system 'ICD-9'" in (shape_problem("ICD-9", "486") or "")
        concept, problem = resolve({}, "RadLex", "RID5352")
        assert concept is None
        assert problem == "unknown RadLex code 'RID5352' (not in the RadBridge vocabulary)"
