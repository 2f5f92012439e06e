"""Byte-level rewriting before Orthanc: only PatientID, IssuerOfPatientID and the charset change."""

from __future__ import annotations

import io
import uuid
from pathlib import Path

import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.dataelem import DataElement
from pydicom.uid import ImplicitVRLittleEndian

from gateway.ingest import patient_namespace
from gateway.ingest.admission import Sender, admit
from gateway.ingest.rewrite import Edits, RewriteError, rewrite

ORG = uuid.UUID("6f1c2a8e-0000-4000-8000-000000000001")
IR58_NAME = b"Zhang^XiaoDong=\x1b$)A" + "张^小东".encode("gb2312") + b"="


def _testfile(name: str) -> bytes:
    path = get_testdata_file(name)
    assert path is not None
    return Path(path).read_bytes()


def _with_ir58_name(data: bytes, *, implicit: bool = False) -> bytes:
    ds = pydicom.dcmread(io.BytesIO(data))
    ds.SpecificCharacterSet = ["", "ISO 2022 IR 58"]
    ds[0x00100010] = DataElement(0x00100010, "PN", IR58_NAME)
    if implicit:
        ds.file_meta.TransferSyntaxUID = ImplicitVRLittleEndian
    out = io.BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()


@pytest.mark.parametrize("implicit", [False, True])
def test_ir58_name_bytes_survive_and_only_the_patient_elements_change(implicit: bool) -> None:
    original = _with_ir58_name(_testfile("CT_small.dcm"), implicit=implicit)
    edits = Edits(patient_id_prefix=patient_namespace.prefix(ORG), issuer_if_empty="t/a")

    out = rewrite(original, edits)

    assert IR58_NAME in out
    before, after = pydicom.dcmread(io.BytesIO(original)), pydicom.dcmread(io.BytesIO(out))
    assert after.PatientID == f"{patient_namespace.namespace_token(ORG)}~{before.PatientID}"
    assert after.IssuerOfPatientID == "t/a"
    changed = {0x00100020, 0x00100021}
    assert set(after.keys()) - changed == set(before.keys()) - changed
    for element in before:
        if element.tag not in changed:
            assert after[element.tag].value == element.value, element.keyword


def test_missing_patient_id_and_charset_are_inserted_in_tag_order() -> None:
    ds = pydicom.dcmread(io.BytesIO(_testfile("CT_small.dcm")))
    del ds.PatientID
    del ds.SpecificCharacterSet
    raw = io.BytesIO()
    ds.save_as(raw, enforce_file_format=True)

    out = rewrite(
        raw.getvalue(),
        Edits(patient_id_prefix=b"abc~", issuer_if_empty="t/a", charset_override="GB18030"),
    )

    after = pydicom.dcmread(io.BytesIO(out))
    assert (after.PatientID, after.IssuerOfPatientID, after.SpecificCharacterSet) == (
        "abc~",
        "t/a",
        "GB18030",
    )
    tags = list(after.keys())
    assert tags == sorted(tags)


def test_device_issuer_and_correct_charset_label_are_kept() -> None:
    ds = pydicom.dcmread(io.BytesIO(_testfile("CT_small.dcm")))
    ds.IssuerOfPatientID = "HOSPITAL-MPI"
    ds.SpecificCharacterSet = "ISO_IR 192"
    raw = io.BytesIO()
    ds.save_as(raw, enforce_file_format=True)

    out = rewrite(
        raw.getvalue(),
        Edits(patient_id_prefix=b"abc~", issuer_if_empty="t/a", charset_override="GB18030"),
    )

    after = pydicom.dcmread(io.BytesIO(out))
    assert (after.IssuerOfPatientID, after.SpecificCharacterSet) == ("HOSPITAL-MPI", "ISO_IR 192")


def test_big_endian_is_refused_and_admission_quarantines_with_a_reason() -> None:
    big_endian = _testfile("MR_small_bigendian.dcm")
    with pytest.raises(RewriteError):
        rewrite(big_endian, Edits(patient_id_prefix=b"abc~"))

    verdict = admit(big_endian, Sender(ORG, "t/a")).verdict

    assert verdict.reason_code == "unsupported_encoding"


def test_patient_id_too_long_for_the_prefix_is_refused() -> None:
    ds = pydicom.dcmread(io.BytesIO(_testfile("CT_small.dcm")))
    ds.PatientID = "9" * 60
    raw = io.BytesIO()
    ds.save_as(raw, enforce_file_format=True)

    admitted = admit(raw.getvalue(), Sender(ORG, "t/a"))

    assert admitted.verdict.reason_code == "patient_id_too_long"
    assert "51" in admitted.verdict.reason


def test_namespace_round_trip_and_forged_prefix() -> None:
    other = uuid.uuid4()
    token = patient_namespace.namespace_token(ORG)
    forged = f"{patient_namespace.namespace_token(other)}~P1"

    assert patient_namespace.original_patient_id(f"{token}~P1", ORG) == "P1"
    assert patient_namespace.original_patient_id(f"{token}~{forged}", ORG) == forged
    assert patient_namespace.original_patient_id(forged, ORG) is None
    assert patient_namespace.original_patient_id("P1", ORG) == "P1"  # bare: not via the gateway
    assert token != patient_namespace.namespace_token(other)


def test_unknown_charset_override_is_refused() -> None:
    with pytest.raises(ValueError, match="override"):
        Sender(ORG, "t/a", charset_override="latin-9")


def test_admitting_an_admitted_file_again_changes_nothing() -> None:
    """A spooled or quarantined copy is already namespaced: a release must not prefix twice."""
    sender = Sender(ORG, "t/a")
    once = admit(_testfile("CT_small.dcm"), sender).data

    twice = admit(once, sender).data

    assert twice == once
    token = patient_namespace.namespace_token(ORG)
    assert pydicom.dcmread(io.BytesIO(twice)).PatientID.startswith(f"{token}~")


@pytest.mark.parametrize(
    ("modality", "description"),
    [
        ("SR", "AI RESULT - FOR REFERENCE ONLY"),
        ("PR", "AI RESULT - FOR REFERENCE ONLY"),
        ("DOC", "SIGNED REPORT"),
    ],
)
def test_an_upload_posing_as_radbridge_output_is_refused(modality: str, description: str) -> None:
    ds = pydicom.dcmread(io.BytesIO(_testfile("CT_small.dcm")))
    ds.Modality, ds.SeriesDescription = modality, description
    raw = io.BytesIO()
    ds.save_as(raw, enforce_file_format=True)

    verdict = admit(raw.getvalue(), Sender(ORG, "t/a")).verdict

    assert verdict.reason_code == "reserved_series"
    assert "another series description" in verdict.reason


def test_a_clinics_own_structured_report_is_admitted() -> None:
    ds = pydicom.dcmread(io.BytesIO(_testfile("CT_small.dcm")))
    ds.Modality, ds.SeriesDescription = "SR", "Dose report"
    raw = io.BytesIO()
    ds.save_as(raw, enforce_file_format=True)

    assert admit(raw.getvalue(), Sender(ORG, "t/a")).verdict.ok
