"""QIDO-RS answered from RadBridge's own records: query parsing and DICOM JSON rendering.

Studies and series come from the database, already restricted to the caller's scope, so a
search can never return another tenant's or clinic's study, whatever the filters say.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Protocol

from gateway.dicomweb.access import check_uid
from gateway.dicomweb.repository import StudyQuery
from services.kit.errors import InvalidInput
from services.models import Series, Study

MAX_LIMIT = 500
_DATE = re.compile(r"^\d{8}$")
_ALIASES = {
    "0020000D": "StudyInstanceUID",
    "00100020": "PatientID",
    "00100010": "PatientName",
    "00080050": "AccessionNumber",
    "00080020": "StudyDate",
    "00080061": "ModalitiesInStudy",
    "00080060": "Modality",
}
_IGNORED = {"includefield", "fuzzymatching"}
_FILTERS = {"StudyInstanceUID", "PatientID", "PatientName", "AccessionNumber", "StudyDate"}
_FILTERS |= {"ModalitiesInStudy", "Modality", "limit", "offset"}


def _text(value: str, what: str) -> str:
    if len(value) > 64 or any(ord(ch) < 32 for ch in value):
        raise InvalidInput(f"The {what} filter is longer than 64 characters or has control codes.")
    return value


def _count(value: str, what: str, ceiling: int) -> int:
    if not value.isdigit():
        raise InvalidInput(f"'{what}' must be a whole number.")
    return min(int(value), ceiling)


def _dates(value: str) -> tuple[str, str]:
    start, sep, end = value.partition("-")
    if not sep:
        end = start
    for part in (start, end):
        if part and not _DATE.match(part):
            raise InvalidInput("StudyDate must be YYYYMMDD or a range YYYYMMDD-YYYYMMDD.")
    return start, end


def parse_study_query(params: Mapping[str, str]) -> StudyQuery:
    """Turn QIDO-RS query parameters into a ``StudyQuery`` (400/422 for bad values)."""
    values: dict[str, str] = {}
    for raw_key, value in params.items():
        key = _ALIASES.get(raw_key.upper(), raw_key)
        if key in _IGNORED:
            continue
        if key not in _FILTERS:
            raise InvalidInput(f"Searching by '{raw_key}' is not supported here.")
        values[key] = value
    start, end = _dates(values.get("StudyDate", ""))
    uid = values.get("StudyInstanceUID", "")
    if uid:
        check_uid(uid, "StudyInstanceUID")
    modality = values.get("ModalitiesInStudy") or values.get("Modality", "")
    return StudyQuery(
        study_instance_uid=uid,
        patient_id=_text(values.get("PatientID", ""), "PatientID"),
        patient_name=_text(values.get("PatientName", ""), "PatientName"),
        accession_number=_text(values.get("AccessionNumber", ""), "AccessionNumber"),
        study_date_from=start,
        study_date_to=end,
        modality=_text(modality, "Modality"),
        limit=_count(values.get("limit", str(MAX_LIMIT)), "limit", MAX_LIMIT) or MAX_LIMIT,
        offset=_count(values.get("offset", "0"), "offset", 10**6),
    )


def _attr(vr: str, *values: Any) -> dict[str, Any]:
    present = [v for v in values if v not in ("", None)]
    return {"vr": vr, "Value": present} if present else {"vr": vr}


def study_json(study: Study, series: list[Series], base_url: str) -> dict[str, Any]:
    """Return the QIDO-RS study attributes of one study."""
    modalities = sorted({s.modality for s in series if s.modality} or {study.modality} - {""})
    name = {"Alphabetic": study.patient_name} if study.patient_name else ""
    return {
        "00080020": _attr("DA", study.study_date),
        "00080050": _attr("SH", study.accession_number),
        "00080061": _attr("CS", *modalities),
        "00081030": _attr("LO", study.description),
        "00081190": _attr("UR", f"{base_url}/studies/{study.study_instance_uid}"),
        "00100010": _attr("PN", name),
        "00100020": _attr("LO", study.patient_id),
        "00100030": _attr("DA", study.patient_birth_date),
        "00100040": _attr("CS", study.patient_sex),
        "0020000D": _attr("UI", study.study_instance_uid),
        "00201206": _attr("IS", len(series)),
        "00201208": _attr("IS", study.instance_count),
    }


class SeriesFacts(Protocol):
    """What a QIDO-RS series answer is made of (a registered series, or an AI result series)."""

    series_instance_uid: str
    modality: str
    description: str
    body_part: str
    instance_count: int


def series_json(study: Study, series: SeriesFacts, base_url: str) -> dict[str, Any]:
    """Return the QIDO-RS series attributes of one series."""
    url = f"{base_url}/studies/{study.study_instance_uid}/series/{series.series_instance_uid}"
    return {
        "00080060": _attr("CS", series.modality),
        "0008103E": _attr("LO", series.description),
        "00081190": _attr("UR", url),
        "00180015": _attr("CS", series.body_part),
        "0020000D": _attr("UI", study.study_instance_uid),
        "0020000E": _attr("UI", series.series_instance_uid),
        "00201209": _attr("IS", series.instance_count),
    }


def rewrite_urls(document: Any, public_root: str) -> Any:
    """Replace Orthanc's DICOMweb root by the gateway's in every URL of a DICOM JSON document.

    URLs Orthanc generates (RetrieveURL, BulkDataURI) must never point callers at Orthanc.
    """
    if isinstance(document, dict):
        return {k: rewrite_urls(v, public_root) for k, v in document.items()}
    if isinstance(document, list):
        return [rewrite_urls(v, public_root) for v in document]
    if isinstance(document, str) and "/dicom-web/" in document:
        _, _, rest = document.partition("/dicom-web/")
        return f"{public_root}/{rest}"
    return document
