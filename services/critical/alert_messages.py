"""Critical-result alerts in the clinic's own standards: an HL7 v2 ORU^R01 and a FHIR Communication.

HL7: a short ORU^R01 for the study's order (OBR-3 accession) whose result OBX carries the
critical value as a coded entry with abnormal flag ``AA`` (table 0078: "very abnormal", the
flag for non-numeric results at panic level) and the result status of the report: ``F`` once
signed, ``P`` while it waits for a countersignature or when only AI raised it. HIS critical-value
work queues key on OBX-8, so the alert surfaces there; the MSA ``AA`` it answers is receipt only.

FHIR: a ``Communication`` (category ``alert``, priority ``stat``) about the ImagingStudy and
the DiagnosticReport, which is the R4 resource for "a critical result was passed on to someone";
a second DiagnosticReport would compete with the report the delivery channel already sends.

Neither carries the patient's name (alerts never do): the HIS matches PID-3 / the identifier.
Clinical acknowledgement stays in RadBridge (``acknowledge``), which stops the escalation.
See docs/critical-values.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from hl7apy.core import Message

from services.report.interop.export import FHIR_STATUS, HL7_STATUS
from services.report.interop.fhir_report import ISSUER_SYSTEM
from services.report.interop.hl7_charset import DEFAULT_CHARSET, Hl7Charset
from services.report.interop.hl7_oru import escape, header, timestamp

CRITICAL_FLAG = "AA"  # HL7 table 0078
CV_SYSTEM = "urn:radbridge:critical-value"
ALERT_SYSTEM = "urn:radbridge:critical-alert"
REPORT_SYSTEM = "urn:radbridge:report"
COMMUNICATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/communication-category"


@dataclass(frozen=True)
class AlertFacts:
    """What an HL7 or FHIR alert says, read in the claiming transaction."""

    alert_id: str
    critical_result_id: str
    attempt: int
    level: int
    code: str
    label_zh: str
    label_en: str
    declared_at: datetime
    report_id: str | None
    report_status: str | None  # our status; None when no report is signed yet (AI finding)
    study_instance_uid: str
    accession_number: str
    modality: str
    study_description: str
    patient_id: str
    patient_id_issuer: str
    hospital_code: str
    clinic_code: str
    text: str  # the human sentence: code, labels, study, "please acknowledge"

    @property
    def hl7_status(self) -> str:
        """OBR-25 / OBX-11: F for a final report, P while preliminary or AI only."""
        return HL7_STATUS.get(self.report_status or "", "P")

    @property
    def fhir_status(self) -> str:
        """The DiagnosticReport status the alert refers to."""
        return FHIR_STATUS.get(self.report_status or "", "preliminary")


def control_id(facts: AlertFacts) -> str:
    """MSH-10 of one attempt: 20 characters, unique per try, starting "CV"."""
    return f"CV{facts.alert_id.replace('-', '')[:14]}{facts.attempt:04d}"


def build_critical_oru(
    facts: AlertFacts, *, now: datetime, charset: Hl7Charset = DEFAULT_CHARSET
) -> str:
    """Return the alert ORU^R01 as ER7 text."""
    msg = Message("ORU_R01", version="2.5.1", validation_level=2)
    header(
        msg,
        sender=facts.hospital_code,
        receiver=facts.clinic_code,
        control_id=control_id(facts),
        now=now,
        charset=charset,
    )
    result = msg.add_group("ORU_R01_PATIENT_RESULT")
    pid = result.add_group("ORU_R01_PATIENT").pid
    pid.pid_1 = "1"
    pid.pid_3 = f"{escape(facts.patient_id)}^^^{escape(facts.patient_id_issuer)}"
    order = result.add_group("ORU_R01_ORDER_OBSERVATION")
    obr = order.obr
    obr.obr_1 = "1"
    obr.obr_3 = escape(facts.accession_number or facts.study_instance_uid)
    obr.obr_4 = f"{escape(facts.modality)}^{escape(facts.study_description)}"
    obr.obr_22 = timestamp(now)
    obr.obr_24 = "RAD"
    obr.obr_25 = facts.hl7_status
    label = escape(f"{facts.label_en} / {facts.label_zh}")
    values = [
        ("CWE", "CRIT^Critical result^L", f"{escape(facts.code)}^{label}^L"),
        ("TX", "CRITTX^Critical result notice^L", escape(facts.text)),
    ]
    for index, (value_type, code, value) in enumerate(values, start=1):
        obx = order.add_group("ORU_R01_OBSERVATION").obx
        obx.obx_1 = str(index)
        obx.obx_2 = value_type
        obx.obx_3 = code
        obx.obx_5 = value
        obx.obx_8 = CRITICAL_FLAG
        obx.obx_11 = facts.hl7_status
        obx.obx_14 = timestamp(facts.declared_at)
    return str(msg.to_er7())


def _about(facts: AlertFacts) -> list[dict[str, Any]]:
    about: list[dict[str, Any]] = [
        {
            "type": "ImagingStudy",
            "identifier": {
                "system": "urn:dicom:uid",
                "value": f"urn:oid:{facts.study_instance_uid}",
            },
            "display": facts.accession_number or facts.study_instance_uid,
        }
    ]
    if facts.report_id:
        about.append(
            {
                "type": "DiagnosticReport",
                "identifier": {"system": REPORT_SYSTEM, "value": facts.report_id},
                "display": f"status: {facts.fhir_status}",
            }
        )
    return about


def build_communication(facts: AlertFacts, *, now: datetime) -> dict[str, Any]:
    """Return the alert as a FHIR R4 Communication resource (JSON)."""
    return {
        "resourceType": "Communication",
        "identifier": [{"system": ALERT_SYSTEM, "value": facts.alert_id}],
        "status": "completed",
        "category": [{"coding": [{"system": COMMUNICATION_CATEGORY, "code": "alert"}]}],
        "priority": "stat",
        "subject": {
            "identifier": {
                "system": ISSUER_SYSTEM + facts.patient_id_issuer,
                "value": facts.patient_id,
            }
        },
        "about": _about(facts),
        "sent": now.isoformat(),
        "reasonCode": [
            {
                "coding": [{"system": CV_SYSTEM, "code": facts.code, "display": facts.label_en}],
                "text": f"{facts.label_zh} / {facts.label_en}",
            }
        ],
        "payload": [{"contentString": facts.text}],
    }
