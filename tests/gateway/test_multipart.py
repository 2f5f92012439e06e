"""Splitting multipart/related STOW-RS bodies: offsets, not copies, and clear errors."""

from __future__ import annotations

import pytest

from gateway.dicomweb.multipart import MultipartError, split_parts

CT = 'multipart/related; type="application/dicom"; boundary=XyZ'


def _body(*payloads: bytes, preamble: bytes = b"") -> bytes:
    parts = b"".join(
        b"--XyZ\r\nContent-Type: application/dicom\r\n\r\n" + p + b"\r\n" for p in payloads
    )
    return preamble + parts + b"--XyZ--\r\n"


@pytest.mark.parametrize("buffer", [bytes, bytearray])
def test_parts_come_back_byte_for_byte(buffer: type[bytes] | type[bytearray]) -> None:
    payloads = [b"DICM" + bytes(range(256)) * 4, b"\r\n--X\r\n\r\n", b""]

    parts = split_parts(CT, buffer(_body(*payloads, preamble=b"ignored preamble\r\n")))

    assert [p for _, p in parts] == payloads
    assert all(type(p) is bytes for _, p in parts)
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
