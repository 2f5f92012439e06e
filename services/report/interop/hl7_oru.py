"""HL7 v2.5.1 ORU^R01 for a signed report: the clinic's HIS/RIS files it with the patient.

Layout: MSH (the character set, UTF-8 or GB 18030, declared in MSH-18), PID (patient ID with
its issuer), OBR (accession in OBR-3, status in OBR-25, interpreter in OBR-32), one TX OBX per
line of findings (GDT) and of impression (IMP), and the signed PDF as a base64 ED OBX.
"""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

from hl7apy.core import Message

from services.report.interop.export import HL7_STATUS, ReportExport
from services.report.interop.hl7_charset import DEFAULT_CHARSET, Hl7Charset

# The escape character first, so the escapes added after it are not escaped again.
_ESCAPES = (("\\", "\\E\\"), ("|", "\\F\\"), ("^", "\\S\\"), ("&", "\\T\\"), ("~", "\\R\\"))


def escape(text: str) -> str:
    """Escape HL7 delimiters in free text."""
    for char, code in _ESCAPES:
        text = text.replace(char, code)
    return text.replace("\r", " ")


def timestamp(moment: datetime | None) -> str:
    """Return an HL7 DTM with seconds and offset ("" for none)."""
    return moment.strftime("%Y%m%d%H%M%S%z") if moment else ""


def _person_name(pn: str) -> str:
    # DICOM PN "FAMILY^GIVEN=ideographic": keep the alphabetic group, components map 1:1 to XPN.
    alphabetic = pn.split("=", 1)[0]
    family, _, given = alphabetic.partition("^")
    return f"{escape(family)}^{escape(given.split('^', 1)[0])}"


def _lines(text: str) -> list[str]:
    return [line for line in (part.strip() for part in text.splitlines()) if line] or [""]


def header(
    msg: Any, *, sender: str, receiver: str, control_id: str, now: datetime, charset: Hl7Charset
) -> None:
    """Fill the MSH of an ORU^R01 from the reading hospital to the clinic's HIS, in ``charset``."""
    msg.msh.msh_3 = "RADBRIDGE"
    msg.msh.msh_4 = escape(sender)
    msg.msh.msh_5 = "HIS"
    msg.msh.msh_6 = escape(receiver)
    msg.msh.msh_7 = timestamp(now)
    msg.msh.msh_9 = "ORU^R01^ORU_R01"
    msg.msh.msh_10 = control_id
    msg.msh.msh_11 = "P"
    msg.msh.msh_18 = charset


def _patient(result: Any, export: ReportExport) -> None:
    pid = result.add_group("ORU_R01_PATIENT").pid
    pid.pid_1 = "1"
    pid.pid_3 = f"{escape(export.patient_id)}^^^{escape(export.patient_id_issuer)}"
    pid.pid_5 = _person_name(export.patient_name)
    pid.pid_7 = export.patient_birth_date
    pid.pid_8 = export.patient_sex[:1]


def _minute(moment: datetime | None) -> str:
    # Signing times are printed to the minute (双签: both names, both times).
    return moment.strftime("%Y%m%d%H%M%z") if moment else ""


def _interpreter(person_id: str, name: str, moment: datetime | None) -> str:
    # NDL: CNN (id & name) ^ start date/time of the interpretation.
    return f"{person_id}&{escape(name)}^{_minute(moment)}"


def _request(order: Any, export: ReportExport) -> None:
    obr = order.obr
    obr.obr_1 = "1"
    obr.obr_3 = escape(export.accession_number or export.study_instance_uid)
    obr.obr_4 = f"{escape(export.modality)}^{escape(export.study_description)}"
    obr.obr_7 = export.study_date
    obr.obr_22 = timestamp(export.reviewed_at or export.signed_at)
    obr.obr_24 = "RAD"
    obr.obr_25 = HL7_STATUS.get(export.status, "P")
    author = _interpreter(export.author_id, export.author_name, export.signed_at)
    if export.reviewer_id:
        # The senior who countersigned is the principal interpreter; the writer assisted.
        obr.obr_32 = _interpreter(export.reviewer_id, export.reviewer_name, export.reviewed_at)
        obr.obr_33 = author
    else:
        obr.obr_32 = author


def _observations(order: Any, export: ReportExport) -> None:
    lines = [("GDT", "Findings", line) for line in _lines(export.findings)]
    lines += [("IMP", "Impression", line) for line in _lines(export.impression)]
    values = [("TX", f"{code}^{label}^L", escape(line)) for code, label, line in lines]
    if export.pdf is not None:
        data = base64.b64encode(export.pdf).decode("ascii")
        values.append(("ED", "PDF^Signed report PDF^L", f"RADBRIDGE^AP^PDF^Base64^{data}"))
    for index, (value_type, code, value) in enumerate(values, start=1):
        obx = order.add_group("ORU_R01_OBSERVATION").obx
        obx.obx_1 = str(index)
        obx.obx_2 = value_type
        obx.obx_3 = code
        obx.obx_5 = value
        obx.obx_11 = HL7_STATUS.get(export.status, "P")


def build_oru(
    export: ReportExport,
    *,
    control_id: str,
    now: datetime,
    charset: Hl7Charset = DEFAULT_CHARSET,
) -> str:
    """Return the ORU^R01 message as ER7 text (segments separated by CR).

    ``charset`` is only declared here; encode the text with ``hl7_charset.encode``.
    """
    msg = Message("ORU_R01", version="2.5.1", validation_level=2)
    header(
        msg,
        sender=export.hospital_code,
        receiver=export.clinic_code,
        control_id=control_id,
        now=now,
        charset=charset,
    )
    result = msg.add_group("ORU_R01_PATIENT_RESULT")
    _patient(result, export)
    order = result.add_group("ORU_R01_ORDER_OBSERVATION")
    _request(order, export)
    _observations(order, export)
    return str(msg.to_er7())
