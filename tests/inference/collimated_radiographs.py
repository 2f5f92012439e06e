"""Synthetic collimated radiographs whose exposed field (box, corners, tilt) is known exactly.

A real image supplies the anatomy; a rectangle turned by a known angle about its centre is the
exposed field, and everything outside it is a flat collimator shadow with a little noise. The
field's edge is anti-aliased over one pixel, as a detector's blur would leave it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pydicom.dataset import Dataset, FileDataset, FileMetaDataset
from pydicom.uid import UID, ExplicitVRLittleEndian, generate_uid

from inference.dicom.pixels import resize


@dataclass(frozen=True)
class Field:
    """The truth: centre and half-sizes in pixels, tilt clockwise on screen in degrees."""

    centre: tuple[float, float]  # x, y in pixel-edge units (0 .. columns, 0 .. rows)
    half: tuple[float, float]  # half width, half height
    tilt_deg: float

    def corners(self, shape: tuple[int, int]) -> np.ndarray:
        """Return the corners TL, TR, BR, BL as normalised x, y ``[4, 2]``."""
        theta = np.radians(self.tilt_deg)
        rotate = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
        hw, hh = self.half
        local = np.array([[-hw, -hh], [hw, -hh], [hw, hh], [-hw, hh]])
        points = local @ rotate.T + np.array(self.centre)
        normalised: np.ndarray = points / np.array([shape[1], shape[0]], dtype=np.float64)
        return normalised

    def box(self, shape: tuple[int, int]) -> np.ndarray:
        """Return x0, y0, x1, y1 of the field's bounding box inside the image, normalised."""
        corners = np.clip(self.corners(shape), 0.0, 1.0)
        box: np.ndarray = np.concatenate([corners.min(axis=0), corners.max(axis=0)])
        return box


def collimate(
    anatomy: np.ndarray,
    field: Field,
    *,
    shadow_level: float = 0.96,
    noise: float = 0.008,
    seed: int = 0,
) -> np.ndarray:
    """Return ``anatomy`` (2-D, 0..1) seen through ``field``, shadow elsewhere; float32 0..1."""
    rows, cols = anatomy.shape
    ys, xs = np.mgrid[0:rows, 0:cols] + 0.5
    theta = np.radians(field.tilt_deg)
    dx, dy = xs - field.centre[0], ys - field.centre[1]
    u = np.cos(theta) * dx + np.sin(theta) * dy  # field coordinates (the inverse rotation)
    v = -np.sin(theta) * dx + np.cos(theta) * dy
    inside = np.minimum(field.half[0] - np.abs(u), field.half[1] - np.abs(v))
    alpha = np.clip(inside + 0.5, 0.0, 1.0)
    image = alpha * anatomy + (1.0 - alpha) * shadow_level
    image += np.random.default_rng(seed).normal(0.0, noise, image.shape)
    seen: np.ndarray = np.clip(image, 0.0, 1.0).astype(np.float32)
    return seen


def anatomy_from(pixels: np.ndarray, shape: tuple[int, int], top: float = 0.85) -> np.ndarray:
    """Return a real image's pixels stretched to 0..``top`` (1st..99th percentile) at ``shape``.

    ``top`` stays below the shadow: behind the collimator the detector gets less dose than
    under any anatomy, so the shadow is the brightest thing on a MONOCHROME2 radiograph.
    """
    values = np.asarray(pixels, dtype=np.float64)
    low, high = np.percentile(values, [1.0, 99.0])
    scaled = np.clip((values - low) / max(high - low, 1e-9), 0.0, 1.0) * top
    return resize(scaled, shape)


DX_FOR_PRESENTATION = "1.2.840.10008.5.1.4.1.1.1.1"


def dx_dataset(
    image: np.ndarray, *, spacing_mm: float = 0.15, patient_id: str = "IQ-FIELD"
) -> FileDataset:
    """Wrap a 0..1 image as a new DX For Presentation instance (12-bit, MONOCHROME2, new UIDs).

    The window spans the stored range, so the pipeline's model input is the image itself.
    """
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = UID(DX_FOR_PRESENTATION)
    meta.MediaStorageSOPInstanceUID = generate_uid()  # the instance UID too
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = FileDataset("", Dataset(), file_meta=meta, preamble=b"\0" * 128)
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.SOPClassUID = DX_FOR_PRESENTATION
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.PatientName, ds.PatientID, ds.PatientBirthDate, ds.PatientSex = (
        "Field^Test",
        patient_id,
        "",
        "O",
    )
    ds.StudyDate, ds.StudyTime, ds.AccessionNumber, ds.StudyID = "20260101", "090000", "", "1"
    ds.ReferringPhysicianName = ""
    ds.Modality, ds.SeriesNumber, ds.InstanceNumber = "DX", 1, 1
    ds.Manufacturer = "Synthetic"
    ds.PresentationIntentType, ds.ImageType = "FOR PRESENTATION", ["ORIGINAL", "PRIMARY"]
    ds.BodyPartExamined, ds.ViewPosition, ds.PatientOrientation = "CHEST", "PA", ["L", "F"]
    ds.ImagerPixelSpacing = [spacing_mm, spacing_mm]
    ds.DetectorType, ds.ContentDate, ds.ContentTime = "SCINTILLATOR", "20260101", "090000"
    ds.BurnedInAnnotation, ds.LossyImageCompression = "NO", "00"
    ds.Rows, ds.Columns = image.shape
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.RescaleIntercept, ds.RescaleSlope, ds.RescaleType = 0, 1, "US"
    ds.WindowCenter, ds.WindowWidth, ds.PresentationLUTShape = 2048, 4096, "IDENTITY"
    ds.PixelData = np.round(np.clip(image, 0.0, 1.0) * 4095).astype(np.uint16).tobytes()
    return ds
