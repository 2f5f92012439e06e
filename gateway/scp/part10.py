"""A received C-STORE data set as a DICOM Part 10 file, without pydicom re-encoding its meta.

pynetdicom's ``Event.encoded_dataset`` builds the File Meta Information through pydicom's
dataset writer: about a fifth of the SCP's time per instance here. The group is six fixed
elements in explicit VR little endian (PS3.10 7.1), encoded by hand below; the data set bytes
are the peer's, untouched. A test checks the result against pynetdicom's own encoding.
"""

from __future__ import annotations

import struct

from pynetdicom import PYNETDICOM_IMPLEMENTATION_UID, PYNETDICOM_IMPLEMENTATION_VERSION

_PREAMBLE = b"\x00" * 128 + b"DICM"


def _element(element: int, vr: bytes, value: bytes) -> bytes:
    if vr == b"OB":  # long form: 2 reserved bytes, 4-byte length
        return struct.pack("<HH2s2xI", 0x0002, element, vr, len(value)) + value
    return struct.pack("<HH2sH", 0x0002, element, vr, len(value)) + value


def _ui(value: str) -> bytes:
    encoded = value.encode("ascii")
    return encoded + b"\x00" if len(encoded) % 2 else encoded


def _sh(value: str) -> bytes:
    encoded = value.encode("ascii")
    return encoded + b" " if len(encoded) % 2 else encoded


def part10_file(
    dataset: bytes, *, sop_class_uid: str, sop_instance_uid: str, transfer_syntax: str
) -> bytes:
    """Return preamble, File Meta Information and ``dataset``, as a Part 10 file."""
    group = b"".join(
        (
            _element(0x0001, b"OB", b"\x00\x01"),
            _element(0x0002, b"UI", _ui(sop_class_uid)),
            _element(0x0003, b"UI", _ui(sop_instance_uid)),
            _element(0x0010, b"UI", _ui(transfer_syntax)),
            _element(0x0012, b"UI", _ui(PYNETDICOM_IMPLEMENTATION_UID)),
            _element(0x0013, b"SH", _sh(PYNETDICOM_IMPLEMENTATION_VERSION)),
        )
    )
    length = _element(0x0000, b"UL", struct.pack("<I", len(group)))
    return b"".join((_PREAMBLE, length, group, dataset))
