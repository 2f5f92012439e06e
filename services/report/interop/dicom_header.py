"""Patient and study attributes shared by every DICOM object RadBridge writes about a report."""

from __future__ import annotations

from pydicom.dataset import Dataset

from services.report.interop.export import ReportExport

_SEX = {"M", "F", "O"}


def patient_and_study(ds: Dataset, export: ReportExport, *, patient_id: str | None = None) -> None:
    """Copy the patient and study of ``export`` into ``ds``.

    ``patient_id`` overrides the clinic's PatientID: objects stored into Orthanc must carry the
    namespaced value the study's images carry there, or Orthanc files them under another patient.
    """
    ds.PatientName = export.patient_name
    ds.PatientID = patient_id if patient_id is not None else export.patient_id
    if export.patient_id_issuer:
        ds.IssuerOfPatientID = export.patient_id_issuer
    ds.PatientBirthDate = export.patient_birth_date
    ds.PatientSex = export.patient_sex if export.patient_sex in _SEX else ""
    ds.StudyInstanceUID = export.study_instance_uid
    ds.StudyDate = export.study_date
    ds.StudyTime = ""
    ds.ReferringPhysicianName = ""
    ds.StudyID = ""
    ds.AccessionNumber = export.accession_number
    ds.StudyDescription = export.study_description[:64]
