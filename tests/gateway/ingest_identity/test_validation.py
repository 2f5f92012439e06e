"""Validation at the door, on every file of pydicom's test data and on cut copies of them.

Nothing may raise: each file is accepted or refused with a reason a person can act on.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
from pydicom.data import get_testdata_file, get_testdata_files

from gateway.ingest.validation import check_instance, inspect_instance

CORPUS = sorted(p for p in map(Path, get_testdata_files("*")) if p.is_file())
REASONS = {
    "empty",
    "not_dicom",
    "unreadable",
    "truncated",
    "missing_uid",
    "invalid_uid",
    "bad_pixel_header",
}


def _bytes(name: str) -> bytes:
    path = get_testdata_file(name)
    assert path is not None
    return Path(path).read_bytes()


@pytest.fixture(autouse=True)
def _quiet_pydicom() -> None:
    warnings.simplefilter("ignore")  # the corpus is made of bad VRs on purpose


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.name)
def test_every_file_and_every_cut_gets_a_verdict(path: Path) -> None:
    data = path.read_bytes()
    for cut in sorted({len(data), len(data) // 2, len(data) - 7, 1545, 561, 400, 0}):
        verdict = check_instance(data[: max(cut, 0)])
        assert verdict.ok or verdict.reason_code in REASONS, (cut, verdict)
        assert verdict.ok or verdict.reason


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("no_meta.dcm", "not_dicom"),
        ("README.txt", "not_dicom"),
        ("ExplVR_LitEndNoMeta.dcm", "not_dicom"),
        ("MR_truncated.dcm", "truncated"),
    ],
)
def test_broken_files_of_pydicom_are_refused_with_their_reason(name: str, code: str) -> None:
    assert check_instance(_bytes(name)).reason_code == code


@pytest.mark.parametrize("name", ["CT_small.dcm", "MR_small.dcm", "mlut_18.dcm", "JPEG2000.dcm"])
def test_a_file_cut_short_is_never_accepted(name: str) -> None:
    data = _bytes(name)
    assert check_instance(data).ok

    for cut in (len(data) - 7, len(data) // 2, 1545):
        verdict = check_instance(data[:cut])
        assert not verdict.ok, cut


def test_a_cut_file_names_the_element_it_cuts() -> None:
    data = _bytes("CT_small.dcm")

    verdict = check_instance(data[: len(data) // 2])

    assert verdict.reason_code == "truncated"
    assert "(7FE0,0010)" in verdict.reason and "send it again" in verdict.reason


def test_pixel_data_is_located_not_read() -> None:
    inspection = inspect_instance(_bytes("CT_small.dcm"))

    assert inspection.verdict.ok and inspection.header is not None
    raw = inspection.header.get_item(0x7FE00010, keep_deferred=True)
    assert raw is not None and raw.value is None  # deferred: the header check copied no pixels


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.name)
def test_a_part_read_in_place_gets_the_verdict_of_its_copy(path: Path) -> None:
    """STOW-RS parts are views into the request body; reading them must not change a verdict."""
    data = path.read_bytes()
    head = b"--boundary\r\n\r\n"
    body = head + data + b"\r\n--boundary--"  # bytes around the part
    for cut in sorted({len(data), len(data) // 2, min(400, len(data)), 0}):
        part = memoryview(body)[len(head) : len(head) + cut]
        assert check_instance(part) == check_instance(data[:cut]), cut
