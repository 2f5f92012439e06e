"""Pseudonyms, UIDs and date offsets: stable within a consortium, unrelated across consortia."""

from __future__ import annotations

import copy
import uuid

import pytest
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.uid import generate_uid

from gateway.deid import Deidentifier, burned_in_reason, consortium_key, patient_of
from tests.gateway.deid.corpus import SECRET, deidentified, read, shifted

pytestmark = pytest.mark.unit
TENANT_A = uuid.UUID(int=1)
TENANT_B = uuid.UUID(int=2)


def _ct(study_date: str, **tags: object) -> Dataset:
    ds = read(get_testdata_file("CT_small.dcm"))  # type: ignore[arg-type]
    ds.StudyInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.SOPInstanceUID = generate_uid()
    ds.StudyDate = ds.SeriesDate = ds.ContentDate = study_date
    ds.AccessionNumber = "ACC" + study_date
    for keyword, value in tags.items():
        setattr(ds, keyword, value)
    return ds


@pytest.fixture
def two_studies() -> tuple[Dataset, Dataset]:
    """One patient's baseline CT and a follow-up 45 days later that references it."""
    first = _ct("20240101")
    second = _ct("20240215", FrameOfReferenceUID=first.FrameOfReferenceUID)
    ref = Dataset()
    ref.ReferencedSOPClassUID = first.SOPClassUID
    ref.ReferencedSOPInstanceUID = first.SOPInstanceUID
    second.ReferencedImageSequence = Sequence([ref])
    return first, second


class TestSamePatientTwoStudies:
    def test_same_pseudonym_and_new_study_uids(self, two_studies) -> None:
        a, b = (deidentified(ds, TENANT_A) for ds in two_studies)
        assert a.PatientID == b.PatientID == a.PatientName == b.PatientName
        assert a.PatientID != two_studies[0].PatientID
        assert a.StudyInstanceUID != b.StudyInstanceUID
        assert a.StudyInstanceUID.startswith("2.25.") and len(a.StudyInstanceUID) <= 64

    def test_uids_shared_by_the_studies_map_to_the_same_new_uid(self, two_studies) -> None:
        a, b = (deidentified(ds, TENANT_A) for ds in two_studies)
        assert a.FrameOfReferenceUID == b.FrameOfReferenceUID
        assert b.ReferencedImageSequence[0].ReferencedSOPInstanceUID == a.SOPInstanceUID
        assert b.ReferencedImageSequence[0].ReferencedSOPClassUID == a.SOPClassUID

    def test_dates_shift_by_one_offset_so_intervals_are_kept(self, two_studies) -> None:
        a, b = (deidentified(ds, TENANT_A) for ds in two_studies)
        days = consortium_key(SECRET, TENANT_A).date_shift_days(patient_of(two_studies[0]))
        assert 180 <= days <= 3650
        assert a.StudyDate == shifted("20240101", days)
        assert b.StudyDate == shifted("20240215", days)
        assert a.StudyTime == two_studies[0].StudyTime

    def test_accession_numbers_become_stable_pseudonyms(self, two_studies) -> None:
        a1 = deidentified(two_studies[0], TENANT_A)
        a2 = deidentified(two_studies[0], TENANT_A)
        b = deidentified(two_studies[1], TENANT_A)
        assert a1.AccessionNumber == a2.AccessionNumber != b.AccessionNumber
        assert "ACC" not in a1.AccessionNumber and len(a1.AccessionNumber) <= 16

    def test_a_rerun_gives_identical_output(self, two_studies) -> None:
        assert deidentified(two_studies[0], TENANT_A) == deidentified(two_studies[0], TENANT_A)


class TestAcrossConsortia:
    def test_pseudonyms_uids_and_offsets_differ(self, two_studies) -> None:
        a = deidentified(two_studies[0], TENANT_A)
        b = deidentified(two_studies[0], TENANT_B)
        assert a.PatientID != b.PatientID
        assert a.StudyInstanceUID != b.StudyInstanceUID
        assert a.SOPInstanceUID != b.SOPInstanceUID
        assert a.StudyDate != b.StudyDate  # offsets collide with probability 1/3471

    def test_same_patient_id_at_two_clinics_is_two_patients(self) -> None:
        ds = _ct("20240101", PatientID="12345")
        one = deidentified(ds, TENANT_A, issuer="clinic-a")
        two = deidentified(ds, TENANT_A, issuer="clinic-b")
        assert one.PatientID != two.PatientID

    def test_a_short_secret_is_refused(self) -> None:
        with pytest.raises(ValueError, match="at least 16 bytes"):
            consortium_key(b"short", TENANT_A)


class TestBurnedIn:
    @pytest.mark.parametrize(
        "name", ["examples_palette.dcm", "examples_ybr_color.dcm", "SC_rgb_rle.dcm"]
    )
    def test_ultrasound_and_secondary_capture_are_flagged(self, name: str) -> None:
        reason = burned_in_reason(read(get_testdata_file(name)))  # type: ignore[arg-type]
        assert reason is not None and "usually carries burned-in text" in reason

    def test_burned_in_annotation_yes_is_flagged(self) -> None:
        ds = _ct("20240101", BurnedInAnnotation="YES")
        assert burned_in_reason(ds) == "BurnedInAnnotation is YES"

    def test_plain_ct_is_not_flagged(self) -> None:
        assert burned_in_reason(_ct("20240101")) is None


class TestPrivateAndNested:
    def test_private_tags_are_removed_at_every_depth(self) -> None:
        ds = _ct("20240101")
        item = Dataset()
        item.add_new(0x00091001, "LO", "private secret in a sequence")
        item.PatientName = "Nested^Name"
        ds.add_new(0x00291010, "LO", "private secret")
        ds.ReferencedStudySequence = Sequence([copy.deepcopy(item)])
        ds.SourceImageSequence = Sequence([item])
        out = deidentified(ds, TENANT_A)
        assert "private secret" not in str(out)
        assert "Nested" not in str(out)
        assert len(out.ReferencedStudySequence) == 0  # X/Z on a sequence: emptied

    def test_dates_in_descriptions_are_removed(self) -> None:
        ds = _ct(
            "20240101",
            StudyDescription="CT chest 2024-01-01 Zhang San",
            SeriesDescription="f/u 20240101",
        )
        out = deidentified(ds, TENANT_A)
        assert "StudyDescription" not in out and "SeriesDescription" not in out

    def test_engine_reports_new_identity(self, two_studies) -> None:
        ds = copy.deepcopy(two_studies[0])
        result = Deidentifier(consortium_key(SECRET, TENANT_A)).deidentify(ds)
        assert result.sop_instance_uid == ds.SOPInstanceUID
        assert result.patient_pseudonym == ds.PatientID
        assert result.accession_pseudonym == ds.AccessionNumber
