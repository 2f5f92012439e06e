"""Check every received DICOM instance before Orthanc sees it.

Orthanc 1.10.1 accepts files with bad VRs, no meta header or no PatientID, answers 404 for
missing tags, and has unpatched image-decoding overflows: so we parse every file ourselves and
refuse what is malformed or implausibly large, with a reason a person can act on.
"""

from __future__ import annotations

from dataclasses import dataclass

import pydicom
from pydicom.datadict import dictionary_VR
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.tag import BaseTag
from pydicom.uid import UID

from gateway.ingest.buffer_file import Buffer, open_buffer
from services.kit.ids import is_dicom_uid

MAX_PIXEL_BYTES = 2 * 1024**3  # a 2 GiB decoded frame set is beyond any real modality output
MAX_DIMENSION = 65535
DEFER_BYTES = 4096  # larger values (pixel data) are located, never copied, while checking
UNDEFINED_LENGTH = 0xFFFFFFFF
UID_KEYWORDS = ("SOPClassUID", "SOPInstanceUID", "StudyInstanceUID", "SeriesInstanceUID")
_UID_TAGS = {  # (0008,0016), (0008,0018), (0020,000D), (0020,000E)
    "SOPClassUID": BaseTag(0x00080016),
    "SOPInstanceUID": BaseTag(0x00080018),
    "StudyInstanceUID": BaseTag(0x0020000D),
    "SeriesInstanceUID": BaseTag(0x0020000E),
}
PIXEL_DATA = BaseTag(0x7FE00010)
_NUMBER_TAGS = {
    "Rows": BaseTag(0x00280010),
    "Columns": BaseTag(0x00280011),
    "NumberOfFrames": BaseTag(0x00280008),
    "SamplesPerPixel": BaseTag(0x00280002),
    "BitsAllocated": BaseTag(0x00280100),
}


@dataclass(frozen=True)
class Verdict:
    """The result of checking one instance; ``reason_code`` is empty when it is acceptable."""

    reason_code: str
    reason: str
    sop_class_uid: str = ""
    sop_instance_uid: str = ""
    study_instance_uid: str = ""

    @property
    def ok(self) -> bool:
        """Return whether the instance may be stored."""
        return not self.reason_code


@dataclass(frozen=True)
class Inspection:
    """A verdict and, for an acceptable instance, its parsed header (large values deferred)."""

    verdict: Verdict
    header: Dataset | None = None


def _uid(ds: Dataset, keyword: str) -> str:
    """Return a UID from its raw bytes: pydicom's conversion cost more than all else here."""
    item = ds.get_item(_UID_TAGS[keyword], keep_deferred=True)
    if item is None:
        return ""
    if not isinstance(item, RawDataElement):  # already converted by someone
        return str(item.value).strip() if item.value is not None else ""
    if item.value is None:  # deferred: longer than DEFER_BYTES, which no UID can be
        raise ValueError(f"{keyword} is {item.length} bytes long")
    return bytes(item.value).decode("ascii").strip("\x00 ").strip()


def _number(ds: Dataset, keyword: str, default: int) -> int:
    """Return an image-header number, from its raw bytes when they are plain (the usual case).

    A little-endian US of 2 bytes or an IS of digits is read directly: pydicom's conversion of
    five of them was a sixth of the admission of a CT slice. Anything else goes through pydicom
    as before, so every unusual value gets the verdict it always got.
    """
    item = ds.get_item(_NUMBER_TAGS[keyword], keep_deferred=True)
    if isinstance(item, RawDataElement) and isinstance(item.value, bytes):
        raw = item.value
        if keyword == "NumberOfFrames" and raw.strip(b" \x00").isdigit():
            return int(raw.strip(b" \x00")) or default  # as below: 0 counts as absent
        if (
            keyword != "NumberOfFrames"
            and len(raw) == 2  # one US value
            and item.is_little_endian
            and item.VR in (None, "US")
        ):
            return int.from_bytes(raw, "little") or default
    value = ds.get(keyword)
    if keyword == "NumberOfFrames":
        return int(str(value or default) or default)
    return int(value or default)


def _pixel_problem(ds: Dataset, size: int) -> str:
    if PIXEL_DATA not in ds:
        return ""
    rows, cols = _number(ds, "Rows", 0), _number(ds, "Columns", 0)
    frames = _number(ds, "NumberOfFrames", 1)
    samples, bits = _number(ds, "SamplesPerPixel", 1), _number(ds, "BitsAllocated", 0)
    if not (0 < rows <= MAX_DIMENSION and 0 < cols <= MAX_DIMENSION) or bits not in {
        1,
        8,
        16,
        32,
        64,
    }:
        return f"implausible image geometry: {rows}x{cols}, {bits} bits allocated"
    declared = rows * cols * frames * samples * bits // 8
    if declared > MAX_PIXEL_BYTES:
        return f"declared pixel data of {declared} bytes exceeds the {MAX_PIXEL_BYTES} limit"
    pixels = ds.get_item(PIXEL_DATA, keep_deferred=True)  # raw: its value is never read
    length = getattr(pixels, "length", 0)
    syntax = ds.file_meta.TransferSyntaxUID
    # Encapsulated fragments are checked by the decoder; deflated offsets are of the inflated
    # stream, not of these bytes.
    if length == UNDEFINED_LENGTH or syntax.is_compressed or syntax.is_deflated:
        return ""
    present = min(length, size - getattr(pixels, "value_tell", size))
    if present < declared:
        return f"pixel data is {present} bytes but the header declares {declared}"
    return ""


def _truncation(ds: Dataset, size: int) -> str:
    """Return how the last top-level element overruns the file, or ``""``.

    pydicom stops quietly at the end of the bytes, so a cut file would parse as a shorter
    one; an element whose declared length goes past the end gives the cut away.
    """
    syntax = ds.file_meta.get("TransferSyntaxUID")
    if not isinstance(syntax, UID) or not syntax.is_transfer_syntax or syntax.is_deflated:
        return ""
    if not len(ds):
        return ""
    last = ds.get_item(max(ds.keys(), key=int), keep_deferred=True)
    length, at = getattr(last, "length", 0), getattr(last, "value_tell", None)
    if not isinstance(at, int) or length == UNDEFINED_LENGTH or at + length <= size:
        return ""
    return f"element {last.tag} declares {length} bytes, {max(size - at, 0)} are present"


def _parse_nested(ds: Dataset) -> None:
    """Parse every sequence item, leaving leaf values as raw bytes.

    Sequences of implicit-VR files stay raw until touched; parsing them now finds broken
    nesting at the door. Leaf values are not converted: that costs most of a parse and finds
    nothing a store would trip over (checked on every file of pydicom's test data).
    """
    for tag in list(ds.keys()):  # keys, not items: iterating a Dataset converts values
        raw = ds.get_item(tag, keep_deferred=True)
        vr = getattr(raw, "VR", None) or _dictionary_vr(tag)
        if vr != "SQ":
            continue
        for item in ds[tag].value:
            _parse_nested(item)


def _dictionary_vr(tag: BaseTag) -> str:
    try:
        return str(dictionary_VR(tag))
    except KeyError:  # private or unknown: stored as it is, never parsed by us
        return ""


def _parse(data: Buffer) -> Dataset | Verdict:
    """Return the parsed file (leaf values raw, large ones deferred) or why it cannot be read."""
    if not data:
        return Verdict("empty", "The part is empty.")
    try:
        ds = pydicom.dcmread(open_buffer(data), defer_size=DEFER_BYTES)
        truncated = _truncation(ds, len(data))  # before the nested parse converts the last SQ
        _parse_nested(ds)
    except InvalidDicomError:
        return Verdict("not_dicom", "Not a DICOM Part 10 file (no DICM preamble or meta header).")
    except Exception as exc:  # untrusted bytes: any parser failure is a reason to quarantine
        return Verdict(
            "unreadable", f"The file cannot be parsed: {type(exc).__name__}: {exc}"[:300]
        )
    if truncated:
        return Verdict("truncated", f"The file is truncated: {truncated}; send it again.")
    return ds


def _uid_problem(uids: dict[str, str]) -> Verdict | None:
    for keyword, value in uids.items():
        if not is_dicom_uid(value):
            return Verdict(
                "missing_uid" if not value else "invalid_uid",
                f"{keyword} is {'missing' if not value else 'not a valid DICOM UID'}.",
                uids["SOPClassUID"],
                uids["SOPInstanceUID"],
            )
    return None


def inspect_instance(data: Buffer) -> Inspection:
    """Parse ``data`` once: the verdict, and the header the rewrite reuses when acceptable."""
    ds = _parse(data)
    if isinstance(ds, Verdict):
        return Inspection(ds)
    try:
        uids = {k: _uid(ds, k) for k in UID_KEYWORDS}
    except Exception as exc:  # a UID whose bytes cannot even be decoded
        return Inspection(Verdict("invalid_uid", f"A UID cannot be read: {exc}"[:300]))
    refused = _uid_problem(uids)
    if refused is not None:
        return Inspection(refused)
    try:
        problem = _pixel_problem(ds, len(data))
    except Exception as exc:  # e.g. a Rows value of the wrong length
        problem = f"unreadable image header: {type(exc).__name__}"
    common = (uids["SOPClassUID"], uids["SOPInstanceUID"], uids["StudyInstanceUID"])
    if problem:
        return Inspection(Verdict("bad_pixel_header", problem, *common))
    return Inspection(Verdict("", "", *common), ds)


def check_instance(data: Buffer) -> Verdict:
    """Parse ``data`` and return whether it is an acceptable DICOM instance, and why not."""
    return inspect_instance(data).verdict
