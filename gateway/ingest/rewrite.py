"""Rewrite a few top-level text elements of a DICOM file by splicing bytes, nothing else.

pydicom 3.0.2 drops the escape sequences of ISO 2022 IR 58 when it writes, so a file that was
parsed and saved again would lose its Chinese names. Here the file is parsed only to find where
top-level elements start; the new elements are encoded by hand and spliced in, and every other
byte (names, pixel data, private tags) reaches Orthanc exactly as the device sent it.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from pydicom.dataset import Dataset
from pydicom.filereader import read_partial
from pydicom.tag import BaseTag

from gateway.ingest.buffer_file import Buffer, open_buffer

SPECIFIC_CHARACTER_SET = BaseTag(0x00080005)
PATIENT_ID = BaseTag(0x00100020)
ISSUER_OF_PATIENT_ID = BaseTag(0x00100021)
_EDITABLE = frozenset(map(int, (SPECIFIC_CHARACTER_SET, PATIENT_ID, ISSUER_OF_PATIENT_ID)))
LO_MAX = 64
_LONG_HEADER_VRS = {"OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV"}


class RewriteError(ValueError):
    """The file cannot be rewritten safely (e.g. big endian or deflated transfer syntax)."""


class ValueTooLong(RewriteError):
    """A new value does not fit its VR's maximum length."""


@dataclass(frozen=True)
class _Element:
    """Where a top-level element lies in the file, and its raw value."""

    start: int  # offset of the tag
    end: int  # offset after the value; -1 for an undefined length (never replaced)
    value: bytes


@dataclass(frozen=True)
class Edits:
    """What to change; ``None`` leaves an element as it is.

    ``patient_id_prefix`` goes in front of the raw PatientID; ``charset_override`` replaces a
    SpecificCharacterSet that is absent or one of ``charset_replaces`` (the labels old devices
    put on GBK bytes).
    """

    patient_id_prefix: bytes | None = None
    issuer_if_empty: str | None = None
    charset_override: str | None = None
    charset_replaces: frozenset[str] = frozenset({"", "ISO_IR 6", "ISO_IR 100"})


def _encode(tag: BaseTag, vr: str, value: bytes, implicit: bool) -> bytes:
    if len(value) % 2:
        value += b" "
    head = struct.pack("<HH", tag.group, tag.element)
    if implicit:
        return head + struct.pack("<I", len(value)) + value
    return head + vr.encode("ascii") + struct.pack("<H", len(value)) + value


def _past_patient_ids(tag: BaseTag, _vr: str | None, _length: int) -> bool:
    return bool(tag > ISSUER_OF_PATIENT_ID)


def _scan(
    data: Buffer, header: Dataset | None = None
) -> tuple[dict[int, _Element], list[tuple[int, int]], bool]:
    """Return the elements we may edit, (tag, start) of the top-level ones, implicit VR.

    ``header`` is the file as validation parsed it (raw values; large ones deferred). Without
    it, parsing stops at the first element after IssuerOfPatientID: a 15 MB radiograph is
    scanned in well under a millisecond, and pixel data is never read.
    """
    stream = open_buffer(data)
    ds = (
        header
        if header is not None
        else read_partial(stream, stop_when=_past_patient_ids, defer_size=256)
    )
    syntax = ds.file_meta.get("TransferSyntaxUID")
    if syntax is None or not syntax.is_little_endian or syntax.is_deflated:
        raise RewriteError("only little-endian, non-deflated transfer syntaxes are accepted")
    implicit = bool(syntax.is_implicit_VR)
    found: dict[int, _Element] = {}
    starts: list[tuple[int, int]] = []
    # Keys only: iterating a Dataset decodes values. Sorted and matched as plain ints: BaseTag's
    # own comparison operators were a quarter of the whole admission of a CT slice.
    for tag in sorted(ds.keys(), key=int):
        item = ds.get_item(tag, keep_deferred=True)
        # Raw elements know their value offset; ones pydicom decoded while reading (the
        # character set) or deferred (large values) keep it as ``file_tell``.
        value_at = getattr(item, "value_tell", None) or getattr(item, "file_tell", None)
        if not isinstance(value_at, int) or item is None:
            raise RewriteError(f"cannot locate element {BaseTag(tag)} in the file")
        vr = "" if implicit else (item.VR or "")
        long_length = implicit or vr in _LONG_HEADER_VRS
        start = value_at - (12 if vr in _LONG_HEADER_VRS else 8)
        starts.append((int(tag), start))
        if int(tag) in _EDITABLE:
            fmt, size = ("<I", 4) if long_length else ("<H", 2)
            (length,) = struct.unpack_from(fmt, data, value_at - size)
            end = -1 if length == 0xFFFFFFFF else value_at + length
            found[int(tag)] = _Element(start, end, bytes(data[value_at:end]) if end >= 0 else b"")
    stopped_at = stream.tell()  # read_partial rewinds to the start of the element it stopped at
    if header is None and stopped_at + 4 <= len(data):
        group, element = struct.unpack_from("<HH", data, stopped_at)
        starts.append((group << 16 | element, stopped_at))
    return found, starts, implicit


def rewrite(data: Buffer, edits: Edits, header: Dataset | None = None) -> bytes:
    """Return ``data`` with the edits applied; raise ``RewriteError`` if it cannot be done.

    ``header``: the already parsed file (validation's), so the file is parsed once in all.
    """
    found, starts, implicit = _scan(data, header)
    replacements: list[tuple[int, int, bytes]] = []  # (start, end, new bytes)

    def put(tag: BaseTag, vr: str, value: bytes) -> None:
        encoded = _encode(tag, vr, value, implicit)
        old = found.get(int(tag))
        if old is not None:
            if old.end < 0:
                raise RewriteError(f"element {tag} has an undefined length")
            replacements.append((old.start, old.end, encoded))
            return
        at = next((start for t, start in starts if t > int(tag)), len(data))
        replacements.append((at, at, encoded))

    charset = found.get(int(SPECIFIC_CHARACTER_SET))
    declared = charset.value.decode("ascii", "replace").strip(" \x00") if charset else ""
    if edits.charset_override and declared in edits.charset_replaces:
        put(SPECIFIC_CHARACTER_SET, "CS", edits.charset_override.encode("ascii"))
    if edits.patient_id_prefix is not None:
        old_pid = found.get(int(PATIENT_ID))
        original = old_pid.value.rstrip(b" \x00") if old_pid else b""
        if original.startswith(edits.patient_id_prefix):  # admitted before (a released item)
            original = original[len(edits.patient_id_prefix) :]
        if len(edits.patient_id_prefix) + len(original) > LO_MAX:
            raise ValueTooLong(
                f"PatientID has {len(original)} bytes; at most"
                f" {LO_MAX - len(edits.patient_id_prefix)} fit beside the namespace prefix."
            )
        put(PATIENT_ID, "LO", edits.patient_id_prefix + original)
    issuer = found.get(int(ISSUER_OF_PATIENT_ID))
    if edits.issuer_if_empty and (issuer is None or not issuer.value.strip(b" \x00")):
        put(ISSUER_OF_PATIENT_ID, "LO", edits.issuer_if_empty.encode("ascii"))
    view = memoryview(data)
    pieces: list[bytes | memoryview] = []
    cursor = 0
    for start, end, new in sorted(replacements, key=lambda r: (r[0], r[1])):
        pieces += [view[cursor:start], new]
        cursor = end
    pieces.append(view[cursor:])
    return b"".join(pieces)  # one copy, even of a 15 MB radiograph
