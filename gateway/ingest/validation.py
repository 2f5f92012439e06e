"""Check every received DICOM instance before Orthanc sees it.

Orthanc 1.10.1 accepts files with bad VRs, no meta header or no PatientID, answers 404 for
missing tags, and has unpatched image-decoding overflows: so we parse every file ourselves and
refuse what is malformed or implausibly large, with a reason a person can act on.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import pydicom
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError

from services.kit.ids import is_dicom_uid

MAX_PIXEL_BYTES = 2 * 1024**3  # a 2 GiB decoded frame set is beyond any real modality output
MAX_DIMENSION = 65535


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


def _uid(ds: Dataset, keyword: str) -> str:
    value = ds.get(keyword, "")
    return str(value).strip() if value is not None else ""


def _pixel_problem(ds: Dataset) -> str:
    if "PixelData" not in ds:
        return ""
    rows, cols = int(ds.get("Rows") or 0), int(ds.get("Columns") or 0)
    frames = int(str(ds.get("NumberOfFrames") or 1) or 1)
    samples, bits = int(ds.get("SamplesPerPixel") or 1), int(ds.get("BitsAllocated") or 0)
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
    if not ds.file_meta.TransferSyntaxUID.is_compressed and len(ds.PixelData) < declared:
        return f"pixel data is {len(ds.PixelData)} bytes but the header declares {declared}"
    return ""


def check_instance(data: bytes) -> Verdict:
    """Parse ``data`` and return whether it is an acceptable DICOM instance, and why not."""
    if not data:
        return Verdict("empty", "The part is empty.")
    try:
        ds = pydicom.dcmread(io.BytesIO(data))
        for element in ds.iterall():  # values convert lazily: force it to catch bad bytes now
            _ = element.value
    except InvalidDicomError:
        return Verdict("not_dicom", "Not a DICOM Part 10 file (no DICM preamble or meta header).")
    except (EOFError, ValueError, OSError, KeyError, TypeError) as exc:
        return Verdict(
            "unreadable", f"The file cannot be parsed: {type(exc).__name__}: {exc}"[:300]
        )
    uids = {
        k: _uid(ds, k)
        for k in ("SOPClassUID", "SOPInstanceUID", "StudyInstanceUID", "SeriesInstanceUID")
    }
    for keyword, value in uids.items():
        if not is_dicom_uid(value):
            return Verdict(
                "missing_uid" if not value else "invalid_uid",
                f"{keyword} is {'missing' if not value else 'not a valid DICOM UID'}.",
                uids["SOPClassUID"],
                uids["SOPInstanceUID"],
            )
    try:
        problem = _pixel_problem(ds)
    except (AttributeError, ValueError, TypeError, EOFError) as exc:
        problem = f"unreadable image header: {type(exc).__name__}"
    common = (uids["SOPClassUID"], uids["SOPInstanceUID"], uids["StudyInstanceUID"])
    if problem:
        return Verdict("bad_pixel_header", problem, *common)
    return Verdict("", "", *common)
