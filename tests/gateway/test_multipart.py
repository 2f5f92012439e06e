"""Splitting multipart/related STOW-RS bodies: offsets, not copies, and clear errors."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from gateway.bench.data import make_files
from gateway.dicomweb import multipart
from gateway.dicomweb.multipart import MultipartError, split_parts
from gateway.dicomweb.part10_extent import part10_end

CT = 'multipart/related; type="application/dicom"; boundary=XyZ'


def _body(*payloads: bytes, preamble: bytes = b"") -> bytes:
    parts = b"".join(
        b"--XyZ\r\nContent-Type: application/dicom\r\n\r\n" + p + b"\r\n" for p in payloads
    )
    return preamble + parts + b"--XyZ--\r\n"


@pytest.mark.parametrize("buffer", [bytes, bytearray])
def test_parts_come_back_byte_for_byte(buffer: type[bytes] | type[bytearray]) -> None:
    payloads = [b"DICM" + bytes(range(256)) * 4, b"\r\n--X\r\n\r\n", b""]

    body = buffer(_body(*payloads, preamble=b"ignored preamble\r\n"))
    parts = split_parts(CT, body)

    assert [bytes(p) for _, p in parts] == payloads
    assert all(p.obj is body for _, p in parts)  # views into the body: nothing copied out
    assert parts[0][0] == {"content-type": "application/dicom"}


def test_a_body_without_its_closing_boundary_is_refused() -> None:
    body = _body(b"abc").removesuffix(b"--XyZ--\r\n")

    with pytest.raises(MultipartError, match="closing multipart boundary"):
        split_parts(CT, body)


def test_a_part_without_a_blank_line_is_refused() -> None:
    with pytest.raises(MultipartError, match="blank line"):
        split_parts(CT, b"--XyZ\r\nContent-Type: application/dicom\r\n--XyZ--")


def test_a_content_type_without_boundary_is_refused() -> None:
    with pytest.raises(MultipartError, match="no boundary"):
        split_parts('multipart/related; type="application/dicom"', _body(b"a"))


def _scanned(body: bytes, delimiter: bytes) -> list[int]:
    """Every delimiter by plain scanning: what stepping over DICOM lengths must agree with."""
    found, at = [], body.find(delimiter)
    while at >= 0:
        found.append(at)
        at = body.find(delimiter, at + len(delimiter))
    return found


def _testdata() -> list[bytes]:
    from pydicom.data import get_testdata_files

    return [Path(p).read_bytes() for p in sorted(get_testdata_files("*.dcm"))]


def test_stepping_over_dicom_lengths_finds_the_delimiters_scanning_finds() -> None:
    """Every pydicom test file (all transfer syntaxes, undefined lengths, broken ones), cut
    copies of each, and parts without the CRLF before the delimiter."""
    files = _testdata()
    assert len(files) > 50
    cut = [f[: len(f) // 2] for f in files[::3]]
    for group in range(0, len(files), 7):
        payloads = files[group : group + 7] + cut[group // 7 : group // 7 + 2]
        body = _body(*payloads)
        assert multipart._delimiters(body, b"--XyZ") == _scanned(body, b"--XyZ")
        assert [p for _, p in split_parts(CT, body)] == payloads
        bare = b"".join(b"--XyZ\r\n\r\n" + p for p in payloads) + b"--XyZ--"
        assert multipart._delimiters(bare, b"--XyZ") == _scanned(bare, b"--XyZ")


def test_a_radiograph_is_stepped_over_not_scanned() -> None:
    """The walk lands on the delimiter after the pixel data without reading the pixels."""
    radiograph = make_files(1, large=True, side=1024)[0]
    body = _body(radiograph, radiograph)
    first_content = body.index(b"\r\n\r\n") + 4

    end = part10_end(body, first_content, b"\r\n--XyZ")

    assert end == first_content + len(radiograph)
    assert multipart._delimiters(body, b"--XyZ") == _scanned(body, b"--XyZ")


def test_lengths_that_overshoot_fall_back_to_scanning() -> None:
    """A forged length past the real end never swallows the next part."""
    radiograph = make_files(1, large=True, side=256)[0]
    pixel_tag = radiograph.rindex(b"\xe0\x7f\x10\x00")  # (7FE0,0010) explicit VR: OW, 0, len
    forged = bytearray(radiograph)
    struct.pack_into("<I", forged, pixel_tag + 8, len(radiograph) * 3)
    body = _body(bytes(forged), b"second part")

    assert [p for _, p in split_parts(CT, body)] == [bytes(forged), b"second part"]
