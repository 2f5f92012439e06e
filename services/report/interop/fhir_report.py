"""FHIR R4 DiagnosticReport for a signed report.

The patient, interpreter, performer and ImagingStudy it refers to are contained resources; the
signed PDF is its presentedForm.
"""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

from services.report.interop.export import FHIR_STATUS, ReportExport

LOINC = "http://loinc.org"
V2_0074 = "http://terminology.hl7.org/CodeSystem/v2-0074"
ISSUER_SYSTEM = "urn:radbridge:patient-id-issuer:"
_SEX = {"M": "male", "F": "female", "O": "other"}


def _date(dicom_date: str) -> str | None:
    if len(dicom_date) != 8 or not dicom_date.isdigit():
        return None
    return f"{dicom_date[:4]}-{dicom_date[4:6]}-{dicom_date[6:]}"


def _patient(export: ReportExport) -> dict[str, Any]:
    family, _, given = export.patient_name.split("=", 1)[0].partition("^")
    patient: dict[str, Any] = {
        "resourceType": "Patient",
        "id": "patient",
        "identifier": [
            {"system": ISSUER_SYSTEM + export.patient_id_issuer, "value": export.patient_id}
        ],
        "name": [{"family": family, "given": [g for g in given.split("^") if g]}],
        "gender": _SEX.get(export.patient_sex[:1], "unknown"),
    }
    if birth := _date(export.patient_birth_date):
        patient["birthDate"] = birth
    return patient


def _imaging_study(export: ReportExport) -> dict[str, Any]:
    study: dict[str, Any] = {
        "resourceType": "ImagingStudy",
        "id": "study",
        "status": "available",
        "subject": {"reference": "#patient"},
        "identifier": [
            {"system": "urn:dicom:uid", "value": f"urn:oid:{export.study_instance_uid}"}
        ],
        "description": export.study_description or None,
    }
    if export.accession_number:
        study["identifier"].append(
            {
                "type": {
                    "coding": [
                        {"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "ACSN"}
                    ]
                },
                "value": export.accession_number,
            }
        )
    return {k: v for k, v in study.items() if v is not None}


SIGNATURE_EXTENSION = "urn:radbridge:fhir:StructureDefinition:report-signature"


def _minute(moment: datetime) -> str:
    # FHIR dateTime needs seconds once a time is given; signing times are kept to the minute.
    return moment.replace(second=0, microsecond=0).isoformat()


def _signers(export: ReportExport) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Return the contained Practitioners and one signature extension per signer (双签)."""
    people = [("interpreter", "author", export.author_name, export.signed_at)]
    if export.reviewer_id:
        people.append(("reviewer", "reviewer", export.reviewer_name, export.reviewed_at))
    practitioners = [
        {"resourceType": "Practitioner", "id": pid, "name": [{"text": name}]}
        for pid, _, name, _ in people
    ]
    extensions = [
        {
            "url": SIGNATURE_EXTENSION,
            "extension": [
                {"url": "role", "valueCode": role},
                {"url": "signer", "valueReference": {"reference": f"#{pid}"}},
                {"url": "time", "valueDateTime": _minute(moment)},
            ],
        }
        for pid, role, _, moment in people
        if moment is not None
    ]
    return practitioners, extensions


def build_diagnostic_report(export: ReportExport) -> dict[str, Any]:
    """Return the DiagnosticReport as a FHIR JSON object (a dict ready for ``json.dumps``)."""
    practitioners, signatures = _signers(export)
    report: dict[str, Any] = {
        "resourceType": "DiagnosticReport",
        "id": export.report_id,
        "contained": [
            _patient(export),
            *practitioners,
            {"resourceType": "Organization", "id": "performer", "name": export.hospital_name},
            _imaging_study(export),
        ],
        "identifier": [
            {"system": "urn:radbridge:report", "value": f"{export.report_id}/v{export.version}"}
        ],
        "status": FHIR_STATUS.get(export.status, "preliminary"),
        "category": [{"coding": [{"system": V2_0074, "code": "RAD", "display": "Radiology"}]}],
        "code": {
            "coding": [{"system": LOINC, "code": "18748-4", "display": "Diagnostic imaging study"}]
        },
        "subject": {"reference": "#patient"},
        "performer": [{"reference": "#performer"}],
        "resultsInterpreter": [{"reference": f"#{p['id']}"} for p in practitioners],
        "imagingStudy": [{"reference": "#study"}],
        "conclusion": export.impression,
    }
    if effective := _date(export.study_date):
        report["effectiveDateTime"] = effective
    if signatures:
        report["extension"] = signatures
    issued = export.reviewed_at or export.signed_at
    if issued is not None:
        report["issued"] = issued.isoformat()
    if export.pdf is not None:
        report["presentedForm"] = [
            {
                "contentType": "application/pdf",
                "language": export.language,
                "data": base64.b64encode(export.pdf).decode("ascii"),
                "title": "Signed radiology report",
            }
        ]
    return report
