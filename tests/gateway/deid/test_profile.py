"""Attribute by attribute: every pydicom test file against the Table E.1-1 rows (Annex E).

For each top-level attribute of the original the table's action under both options is
checked on the output; then the whole output is searched, at every depth, for anything the
profile removes, for private attributes, and for the de-identification markers.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pydicom
import pytest
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset

from gateway.deid import Options, consortium_key, patient_of
from gateway.deid.profile import annex_e_table
from tests.gateway.deid.corpus import (
    SECRET,
    TEST_FILES,
    composite_files,
    deidentified,
    effective_code,
    read,
    row_for,
    shifted,
    table_rows,
)

pytestmark = pytest.mark.unit
TENANT = uuid.UUID("11111111-2222-3333-4444-555555555555")
KEY = consortium_key(SECRET, TENANT)
FILES = composite_files()
PSEUDONYMIZED = {"PatientName", "PatientID", "AccessionNumber"}
# Set by the de-identifier itself (checked in test_identity_removed_and_method_recorded).
MARKERS = {
    "PatientIdentityRemoved",
    "DeidentificationMethod",
    "DeidentificationMethodCodeSequence",
    "LongitudinalTemporalInformationModified",
}


def _values(element: DataElement) -> list[str]:
    value = element.value
    if isinstance(value, list | pydicom.multival.MultiValue):
        return [str(v) for v in value]
    return [] if value in (None, "") else [str(value)]


def _check_element(original: DataElement, out: Dataset, shift: int) -> None:  # noqa: C901, PLR0912
    row = row_for(int(original.tag))
    name = f"{original.tag} {original.keyword}"
    got = out.get(original.tag)
    if row is None:
        if original.VR not in ("PN", "UI", "DA", "DT", "SQ"):
            assert got is not None and got.value == original.value, (
                f"{name}: unlisted, must be kept"
            )
        return
    code = effective_code(row)
    if code == "C" and original.VR not in ("DA", "DT", "TM"):
        code = row["basic"]  # free text cannot be proven clean: the Basic action applies
    choices = code.split("/")
    if "U*" in choices:
        assert got is not None, f"{name}: {code} keeps the sequence (UIDs inside remapped)"
    elif code == "X":
        assert got is None, f"{name}: X must be removed"
    elif code == "K":
        assert got is not None and got.value == original.value, f"{name}: K must be kept"
    elif code == "U":
        assert got is not None and _values(got) == [KEY.uid(v) for v in _values(original)], name
    elif code == "C":
        assert got is not None, f"{name}: C (modified dates) keeps the attribute"
        if original.VR == "TM":
            assert got.value == original.value, f"{name}: whole-day shifts keep times"
        elif original.VR == "DA":
            expected = [shifted(v, shift) for v in _values(original)]
            assert _values(got) == expected, f"{name}: dates move back {shift} days"
        else:
            assert all(
                g[:8] == shifted(o[:8], shift) and g[8:] == o[8:]
                for g, o in zip(_values(got), _values(original), strict=True)
            ), name
    elif original.keyword in PSEUDONYMIZED:
        assert (got is not None and got.value != original.value) or not _values(original), name
    elif original.VR == "SQ":
        assert got is None or "D" in choices or len(got.value) == 0, f"{name}: {code} on a sequence"
    elif "D" in choices:
        assert got is not None and _values(got), f"{name}: {code} needs a dummy value"
        assert _values(got) != _values(original) or _values(original) == ["DEIDENTIFIED"], name
    else:  # Z, X/Z
        assert got is None or not _values(got), f"{name}: {code} must be empty or removed"


def _walk(ds: Dataset):
    for element in ds:
        yield element
        if element.VR == "SQ":
            for item in element.value:
                yield from _walk(item)


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(TEST_FILES)))
class TestEveryTestFile:
    def test_each_listed_attribute_gets_its_table_action(self, path: Path) -> None:
        original = read(path)
        out = deidentified(original, TENANT)
        shift = KEY.date_shift_days(patient_of(original))
        for element in original:
            if element.keyword in MARKERS:
                continue
            if not element.tag.is_private and element.tag.element != 0:
                _check_element(element, out, shift)

    def test_nothing_the_profile_removes_is_left_at_any_depth(self, path: Path) -> None:
        out = deidentified(read(path), TENANT)
        options = Options()
        for element in _walk(out):
            assert not element.tag.is_private, f"private {element.tag} left"
            rule = annex_e_table().lookup(int(element.tag))
            if rule is not None and rule.code(options) == "X":
                pytest.fail(f"{element.tag} {element.keyword} must be removed (X)")
            if element.VR == "PN" and element.keyword != "PatientName":
                assert not _values(element) or _values(element) == ["DEIDENTIFIED"], element.keyword

    def test_identity_removed_and_method_recorded(self, path: Path) -> None:
        out = deidentified(read(path), TENANT)
        assert out.PatientIdentityRemoved == "YES"
        assert "RadBridge PS3.15 Annex E" in _values(out["DeidentificationMethod"])
        codes = {
            (i.CodeValue, i.CodingSchemeDesignator) for i in out.DeidentificationMethodCodeSequence
        }
        assert {("113100", "DCM"), ("113107", "DCM"), ("113108", "DCM")} <= codes
        assert out.LongitudinalTemporalInformationModified == "MODIFIED"
        assert out.file_meta.MediaStorageSOPInstanceUID == out.SOPInstanceUID
        assert "SourceApplicationEntityTitle" not in out.file_meta


class TestTableCoverage:
    def test_the_corpus_is_the_whole_pydicom_test_set(self) -> None:
        assert len(FILES) >= 60

    def test_identifying_attributes_in_the_corpus_are_listed(self) -> None:
        # Attributes a person or place could be read from, as found in pydicom's files.
        identifying = {
            "PatientName",
            "PatientID",
            "PatientBirthDate",
            "PatientBirthTime",
            "PatientAddress",
            "OtherPatientIDs",
            "OtherPatientNames",
            "OtherPatientIDsSequence",
            "PatientComments",
            "ReferringPhysicianName",
            "PerformingPhysicianName",
            "OperatorsName",
            "NameOfPhysiciansReadingStudy",
            "RequestingPhysician",
            "InstitutionName",
            "InstitutionAddress",
            "InstitutionalDepartmentName",
            "StationName",
            "AccessionNumber",
            "StudyID",
            "DeviceSerialNumber",
            "AdmissionID",
            "CurrentPatientLocation",
            "PatientInstitutionResidence",
            "VerifyingObserverName",
            "PersonName",
            "ContentCreatorName",
            "StudyInstanceUID",
            "SeriesInstanceUID",
            "SOPInstanceUID",
            "FrameOfReferenceUID",
            "StudyDate",
            "ContentDate",
            "AdditionalPatientHistory",
            "RequestedProcedureID",
            "PerformedProcedureStepID",
            "ScheduledProcedureStepID",
            "ImageComments",
            "StudyComments",
            "VisitComments",
        }
        keywords = {row["keyword"] for row in table_rows().values()}
        seen = {e.keyword for p in FILES for e in _walk(read(p))}
        assert identifying & seen == identifying & seen & keywords
        assert identifying <= keywords

    def test_every_row_names_its_dictionary_keyword(self) -> None:
        for tag, row in table_rows().items():
            if "XX" in tag:
                continue
            number = int(tag.replace(",", ""), 16)
            assert pydicom.datadict.keyword_for_tag(number) == row["keyword"], tag
