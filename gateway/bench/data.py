"""Benchmark DICOM files made with pydicom: CT-like slices (~40 kB) and radiographs (~15 MB).

Every file is a distinct instance of one study per kind; the same files are sent on every path
so the paths are compared on identical bytes.
"""

from __future__ import annotations

from io import BytesIO

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import UID, ExplicitVRLittleEndian, generate_uid

CT_IMAGE = "1.2.840.10008.5.1.4.1.1.2"
DX_IMAGE = "1.2.840.10008.5.1.4.1.1.1.1"
SMALL_SIDE = 136  # 136 x 136 x 16 bit = 37 kB of pixels, ~39 kB a file like QUALITY.md's P1
LARGE_SIDE = 2736  # 2736 x 2736 x 16 bit = 15 MB, a digital radiograph


def _instance(
    sop_class: str, study: str, series: str, number: int, side: int, modality: str
) -> bytes:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.file_meta.MediaStorageSOPClassUID = UID(sop_class)
    ds.StudyInstanceUID, ds.SeriesInstanceUID = study, series
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.PatientID, ds.PatientName = "BENCH-0001", "Bench^Patient=测试^患者"
    ds.PatientSex, ds.PatientBirthDate = "O", "19700101"
    ds.StudyDate, ds.StudyTime, ds.Modality = "20261125", "010000", modality
    ds.StudyDescription, ds.SeriesNumber, ds.InstanceNumber = "benchmark", 1, number
    ds.Rows = ds.Columns = side
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    rng = np.random.default_rng(number)
    ds.PixelData = rng.integers(0, 4096, size=(side, side), dtype=np.uint16).tobytes()
    out = BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()


def make_files(count: int, *, large: bool, side: int | None = None) -> list[bytes]:
    """Return ``count`` instances of one new study: CT slices, or radiographs if ``large``."""
    study, series = generate_uid(), generate_uid()
    sop, modality = (DX_IMAGE, "DX") if large else (CT_IMAGE, "CT")
    size = side or (LARGE_SIDE if large else SMALL_SIDE)
    return [_instance(sop, study, series, n + 1, size, modality) for n in range(count)]
