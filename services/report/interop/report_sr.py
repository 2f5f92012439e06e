"""A signed report as a DICOM Basic Text SR (PS3.3 A.35.1), for PACS and viewers that show SR.

The tree follows the shape of TID 2000 (Basic Diagnostic Imaging Report): a LOINC-titled root
container, the observer, and "Findings" and "Impressions" sections (DCM codes of CID 7001) with
the text as written. Each signer is a Verifying Observer, so both names and times of a double
signature (双签) travel with the document. UIDs derive from the report version: a re-store
replaces the object instead of adding a copy. ``evidence`` lists the study's instances the
report was read from (Current Requested Procedure Evidence).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import (
    PYDICOM_IMPLEMENTATION_UID,
    UID,
    BasicTextSRStorage,
    ExplicitVRLittleEndian,
    generate_uid,
)

from services.contracts.ai_results import REPORT_SERIES_DESCRIPTION
from services.report.interop.dicom_header import patient_and_study
from services.report.interop.export import ReportExport

CHINA = ZoneInfo("Asia/Shanghai")
TITLE = ("18748-4", "LN", "Diagnostic imaging report")
FINDINGS = ("121070", "DCM", "Findings")
FINDING = ("121071", "DCM", "Finding")
IMPRESSIONS = ("121072", "DCM", "Impressions")
IMPRESSION = ("121073", "DCM", "Impression")
OBSERVER_NAME = ("121008", "DCM", "Person Observer Name")
FINAL_STATES = {"FINAL", "CORRECTED", "APPENDED", "AMENDED"}

# series UID -> (SOP class UID, SOP instance UID) of each instance the report was read from
Evidence = Mapping[str, Sequence[tuple[str, str]]]


def uids(export: ReportExport) -> tuple[UID, UID]:
    """Return the (SeriesInstanceUID, SOPInstanceUID) of a report version's SR."""
    seed = f"{export.report_id}/v{export.version}"
    return generate_uid(entropy_srcs=[seed, "sr-series"]), generate_uid(entropy_srcs=[seed, "sr"])


def _code(value: tuple[str, str, str]) -> Dataset:
    item = Dataset()
    item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = value
    return item


def _item(relationship: str, value_type: str, concept: tuple[str, str, str]) -> Dataset:
    item = Dataset()
    item.RelationshipType = relationship
    item.ValueType = value_type
    item.ConceptNameCodeSequence = [_code(concept)]
    return item


def _text(concept: tuple[str, str, str], text: str) -> Dataset:
    item = _item("CONTAINS", "TEXT", concept)
    item.TextValue = text
    return item


def _section(concept: tuple[str, str, str], entry: tuple[str, str, str], text: str) -> Dataset:
    item = _item("CONTAINS", "CONTAINER", concept)
    item.ContinuityOfContent = "SEPARATE"
    item.ContentSequence = [_text(entry, text.strip() or "-")]
    return item


def _verifier(name: str, moment: datetime, organization: str) -> Dataset:
    item = Dataset()
    item.VerifyingObserverName = name
    item.VerificationDateTime = moment.astimezone(CHINA).strftime("%Y%m%d%H%M%S")
    item.VerifyingOrganization = organization or "RadBridge"
    item.VerifyingObserverIdentificationCodeSequence = []
    return item


def _evidence(study_uid: str, evidence: Evidence) -> list[Dataset]:
    series_items = []
    for series_uid, instances in evidence.items():
        series = Dataset()
        series.SeriesInstanceUID = series_uid
        refs = []
        for sop_class, sop_instance in instances:
            ref = Dataset()
            ref.ReferencedSOPClassUID = sop_class
            ref.ReferencedSOPInstanceUID = sop_instance
            refs.append(ref)
        series.ReferencedSOPSequence = refs
        series_items.append(series)
    if not series_items:
        return []
    study = Dataset()
    study.StudyInstanceUID = study_uid
    study.ReferencedSeriesSequence = series_items
    return [study]


def _file_meta(instance_uid: UID) -> FileMetaDataset:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = BasicTextSRStorage
    meta.MediaStorageSOPInstanceUID = instance_uid
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    return meta


def _document_state(ds: Dataset, export: ReportExport) -> None:
    ds.CompletionFlag = "COMPLETE"
    ds.PreliminaryFlag = "FINAL" if export.status in FINAL_STATES else "PRELIMINARY"
    ds.VerificationFlag = "VERIFIED" if export.signed_at else "UNVERIFIED"
    if export.signed_at:
        verifiers = [_verifier(export.author_name, export.signed_at, export.hospital_name)]
        if export.reviewer_name and export.reviewed_at:
            verifiers.append(
                _verifier(export.reviewer_name, export.reviewed_at, export.hospital_name)
            )
        ds.VerifyingObserverSequence = verifiers


def build_report_sr(
    export: ReportExport, *, now: datetime, evidence: Evidence, patient_id: str | None = None
) -> Dataset:
    """Return the Basic Text SR dataset (with file meta) of a signed report version."""
    series_uid, instance_uid = uids(export)
    created = now.astimezone(CHINA)
    signed = (export.signed_at or now).astimezone(CHINA)
    ds = Dataset()
    ds.file_meta = _file_meta(instance_uid)
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.SOPClassUID = BasicTextSRStorage
    ds.SOPInstanceUID = instance_uid
    ds.InstanceCreationDate, ds.InstanceCreationTime = f"{created:%Y%m%d}", f"{created:%H%M%S}"
    patient_and_study(ds, export, patient_id=patient_id)
    ds.Modality = "SR"
    ds.SeriesInstanceUID = series_uid
    ds.SeriesNumber = 9100 + export.version
    ds.SeriesDescription = REPORT_SERIES_DESCRIPTION
    ds.ReferencedPerformedProcedureStepSequence = []
    ds.Manufacturer = "RadBridge"
    ds.InstanceNumber = 1
    ds.ContentDate, ds.ContentTime = f"{signed:%Y%m%d}", f"{signed:%H%M%S}"
    _document_state(ds, export)
    ds.PerformedProcedureCodeSequence = []
    references = _evidence(export.study_instance_uid, evidence)
    if references:
        ds.CurrentRequestedProcedureEvidenceSequence = references
    ds.ValueType = "CONTAINER"
    ds.ConceptNameCodeSequence = [_code(TITLE)]
    ds.ContinuityOfContent = "SEPARATE"
    observer = _item("HAS OBS CONTEXT", "PNAME", OBSERVER_NAME)
    observer.PersonName = export.author_name
    ds.ContentSequence = [
        observer,
        _section(FINDINGS, FINDING, export.findings),
        _section(IMPRESSIONS, IMPRESSION, export.impression),
    ]
    return ds
