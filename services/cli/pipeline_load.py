"""Studies for the pipeline benchmark, and sending them by STOW-RS as a clinic would.

Radiographs are one chest PA image (2048 x 2048, 16 bit, 8 MB by default); CT studies are one
axial chest series of 512 x 512 slices. Pixels are a smooth body-like blob plus noise, so the
image-quality model sees a plausible exposure. Every study has its own patient and UIDs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from io import BytesIO

import httpx
import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import UID, ExplicitVRLittleEndian, generate_uid

from services.kit.clock import utc_now

CR_IMAGE = "1.2.840.10008.5.1.4.1.1.1"
CT_IMAGE = "1.2.840.10008.5.1.4.1.1.2"
CT_SIDE = 512
STOW_BATCH = 50  # instances per STOW request: a CT goes up in a few requests, as clients do


@dataclass(frozen=True)
class StudySpec:
    """One study of the load: its kind ("CR" or "CT"), size and when to send it."""

    number: int
    kind: str
    slices: int
    send_at_s: float


def _blob(side: int, rng: np.random.Generator, peak: float) -> np.ndarray:
    axis = np.linspace(-1.0, 1.0, side, dtype=np.float32)
    yy, xx = np.meshgrid(axis, axis, indexing="ij")
    body = np.exp(-(xx**2 / 0.35 + yy**2 / 0.5))
    return body * peak + rng.normal(0.0, peak * 0.03, (side, side)).astype(np.float32)


def _base(spec: StudySpec, study_uid: str, modality: str) -> Dataset:
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.StudyInstanceUID, ds.SeriesInstanceUID = study_uid, ""
    ds.PatientID, ds.PatientName = f"PIPE-{spec.number:05d}", f"Bench^Pipeline{spec.number}"
    ds.PatientSex, ds.PatientBirthDate = "O", "19600101"
    ds.StudyDate, ds.StudyTime = "20261125", "010000"
    ds.AccessionNumber = f"PIPE{spec.number:06d}"
    ds.Modality, ds.BodyPartExamined = modality, "CHEST"
    ds.StudyDescription, ds.SeriesNumber = f"pipeline benchmark {modality}", 1
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    return ds


def _encode(ds: Dataset, sop_class: str) -> bytes:
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.file_meta.MediaStorageSOPClassUID = UID(sop_class)
    out = BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()


def radiograph(spec: StudySpec, side: int) -> list[bytes]:
    """Return a one-image chest PA radiograph study."""
    ds = _base(spec, generate_uid(), "CR")
    ds.SeriesInstanceUID, ds.InstanceNumber, ds.ViewPosition = generate_uid(), 1, "PA"
    ds.Rows = ds.Columns = side
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    pixels = _blob(side, np.random.default_rng(spec.number), 3000.0) + 300.0
    ds.PixelData = np.clip(pixels, 0, 4095).astype(np.uint16).tobytes()
    return [_encode(ds, CR_IMAGE)]


def ct_series(spec: StudySpec) -> list[bytes]:
    """Return an axial chest CT of ``spec.slices`` 512 x 512 slices, 1 mm apart."""
    study, series = generate_uid(), generate_uid()
    rng = np.random.default_rng(spec.number)
    slab = (_blob(CT_SIDE, rng, 1000.0) - 1000.0).astype(np.int16).tobytes()
    files = []
    for n in range(spec.slices):
        ds = _base(spec, study, "CT")
        ds.SeriesInstanceUID, ds.InstanceNumber = series, n + 1
        ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
        ds.ImagePositionPatient = [-180.0, -180.0, -float(n)]
        ds.SliceThickness, ds.PixelSpacing = 1.0, [0.7, 0.7]
        ds.Rows = ds.Columns = CT_SIDE
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
        ds.RescaleIntercept, ds.RescaleSlope = 0, 1
        ds.PixelData = slab
        files.append(_encode(ds, CT_IMAGE))
    return files


def stow(client: httpx.Client, gateway_url: str, token: str, files: list[bytes]) -> datetime:
    """Send ``files`` by STOW-RS in batches; return when the last batch was acknowledged."""
    for start in range(0, len(files), STOW_BATCH):
        boundary = generate_uid().replace(".", "")
        head = f"--{boundary}\r\nContent-Type: application/dicom\r\n\r\n".encode()
        body = b"\r\n".join(head + f for f in files[start : start + STOW_BATCH])
        response = client.post(
            f"{gateway_url}/dicomweb/studies",
            content=body + f"\r\n--{boundary}--\r\n".encode(),
            headers={
                "Authorization": f"Bearer {token}",
                "Content-Type": f'multipart/related; type="application/dicom"; boundary={boundary}',
            },
        )
        if response.status_code != httpx.codes.OK:
            raise RuntimeError(f"STOW answered {response.status_code}: {response.text[:300]}")
    return utc_now()
