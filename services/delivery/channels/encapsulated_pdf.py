"""The signed PDF as a DICOM Encapsulated PDF instance (PS3.3 A.45.1) in the report's study.

The instance joins the original study (same StudyInstanceUID and patient), in its own "DOC"
series. Its series and instance UIDs derive from the report version, so a resend replaces the
object at the PACS instead of adding a duplicate.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import (
    PYDICOM_IMPLEMENTATION_UID,
    UID,
    EncapsulatedPDFStorage,
    ExplicitVRLittleEndian,
    generate_uid,
)

from services.contracts.ai_results import REPORT_SERIES_DESCRIPTION
from services.report.interop.dicom_header import patient_and_study
from services.report.interop.export import ReportExport

CHINA = ZoneInfo("Asia/Shanghai")
LOINC_REPORT = ("18748-4", "LN", "Diagnostic imaging report")


def uids(export: ReportExport) -> tuple[UID, UID]:
    """Return the (SeriesInstanceUID, SOPInstanceUID) of a report version's PDF object."""
    seed = f"{export.report_id}/v{export.version}"
    return (
        generate_uid(entropy_srcs=[seed, "series"]),
        generate_uid(entropy_srcs=[seed, "pdf"]),
    )


def _concept_name() -> Dataset:
    item = Dataset()
    item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = LOINC_REPORT
    return item


def build_encapsulated_pdf(
    export: ReportExport, pdf: bytes, *, now: datetime, patient_id: str | None = None
) -> Dataset:
    """Return the Encapsulated PDF dataset (with file meta) for a signed report's PDF."""
    series_uid, instance_uid = uids(export)
    local = now.astimezone(CHINA)
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = EncapsulatedPDFStorage
    meta.MediaStorageSOPInstanceUID = instance_uid
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    ds = Dataset()
    ds.file_meta = meta
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.SOPClassUID = EncapsulatedPDFStorage
    ds.SOPInstanceUID = instance_uid
    ds.InstanceCreationDate = local.strftime("%Y%m%d")
    ds.InstanceCreationTime = local.strftime("%H%M%S")
    patient_and_study(ds, export, patient_id=patient_id)
    ds.Modality = "DOC"
    ds.SeriesInstanceUID = series_uid
    ds.SeriesNumber = 9000 + export.version
    ds.SeriesDescription = REPORT_SERIES_DESCRIPTION  # RadBridge output: our ingest skips it
    ds.Manufacturer = "RadBridge"
    ds.ConversionType = "WSD"
    ds.InstanceNumber = 1
    signed = (export.signed_at or now).astimezone(CHINA)
    ds.ContentDate = signed.strftime("%Y%m%d")
    ds.ContentTime = signed.strftime("%H%M%S")
    ds.AcquisitionDateTime = signed.strftime("%Y%m%d%H%M%S")
    ds.BurnedInAnnotation = "YES"  # the PDF shows the patient's name and ids
    ds.DocumentTitle = f"Radiology report {export.accession_number or ''}".strip()[:64]
    ds.ConceptNameCodeSequence = [_concept_name()]
    verified = ("FINAL", "CORRECTED", "APPENDED", "AMENDED")  # complete (countersigned) versions
    ds.VerificationFlag = "VERIFIED" if export.status in verified else "UNVERIFIED"
    ds.MIMETypeOfEncapsulatedDocument = "application/pdf"
    ds.EncapsulatedDocument = pdf + (b"\x00" if len(pdf) % 2 else b"")
    ds.EncapsulatedDocumentLength = len(pdf)
    return ds


def embedded_pdf(ds: Dataset) -> bytes:
    """Return the PDF bytes of an Encapsulated PDF dataset, without the padding byte."""
    data: bytes = ds.EncapsulatedDocument
    length = ds.get("EncapsulatedDocumentLength")
    return data[: int(length)] if length is not None else data
