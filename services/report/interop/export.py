"""A signed report as plain values, for the renderings that leave RadBridge (HL7 v2, FHIR)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from services.domain.report_lifecycle import FHIR_REPORT_STATUS, HL7_RESULT_STATUS
from services.models import Organization, Report, Study, User
from services.worklist import repository as worklist_repository

# HL7 OBR-25 / FHIR DiagnosticReport.status for our report states (AMENDED: older rows).
HL7_STATUS = {s.value: code for s, code in HL7_RESULT_STATUS.items()} | {"AMENDED": "C"}
FHIR_STATUS = {s.value: code for s, code in FHIR_REPORT_STATUS.items()} | {"AMENDED": "corrected"}


@dataclass(frozen=True)
class ReportExport:
    """Everything the outgoing messages carry about one report version."""

    report_id: str
    version: int
    status: str  # our status: services.domain.report_lifecycle.ReportStatus
    language: str
    study_instance_uid: str
    accession_number: str
    modality: str
    study_description: str
    study_date: str  # DICOM DA
    patient_id: str
    patient_id_issuer: str
    patient_name: str  # DICOM PN, e.g. "ZHANG^SAN=张^三"
    patient_sex: str
    patient_birth_date: str
    findings: str
    impression: str
    author_name: str
    author_id: str
    signed_at: datetime | None
    hospital_code: str
    hospital_name: str
    clinic_code: str
    clinic_name: str
    pdf: bytes | None
    # Double signing (双签): the senior who reviewed and countersigned, and when.
    reviewer_name: str = ""
    reviewer_id: str = ""
    reviewed_at: datetime | None = None


def build_export(session: Session, report: Report, pdf: bytes | None) -> ReportExport:
    """Collect a report version and its context into a ``ReportExport``."""
    study = session.get(Study, report.study_id)
    author = session.get(User, report.author_id)
    reviewer = session.get(User, report.cosigner_id) if report.cosigner_id else None
    assert study is not None
    assert author is not None
    clinic = session.get(Organization, study.organization_id)
    item = worklist_repository.by_study(session, study.id)
    hospital = session.get(Organization, item.reader_org_id) if item else None
    return ReportExport(
        report_id=str(report.id),
        version=report.version,
        status=report.status,
        language=report.language,
        study_instance_uid=study.study_instance_uid,
        accession_number=study.accession_number,
        modality=study.modality,
        study_description=study.description,
        study_date=study.study_date,
        patient_id=study.patient_id,
        patient_id_issuer=study.patient_id_issuer,
        patient_name=study.patient_name,
        patient_sex=study.patient_sex,
        patient_birth_date=study.patient_birth_date,
        findings=report.findings,
        impression=report.impression,
        author_name=author.display_name,
        author_id=str(author.id),
        signed_at=report.signed_at,
        hospital_code=hospital.code if hospital else "",
        hospital_name=hospital.name if hospital else "",
        clinic_code=clinic.code if clinic else "",
        clinic_name=clinic.name if clinic else "",
        pdf=pdf,
        reviewer_name=reviewer.display_name if reviewer else "",
        reviewer_id=str(reviewer.id) if reviewer else "",
        reviewed_at=report.cosigned_at,
    )
