"""Turn Orthanc's JSON answers into typed records, refusing shapes we do not expect."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from gateway.orthanc.errors import OrthancRejected, OrthancUnavailable
from gateway.orthanc.records import (
    Change,
    ChangesPage,
    DicomNode,
    InstanceOrigin,
    SeriesInfo,
    StudyInfo,
    UploadResult,
)


def _mapping(value: object, what: str) -> Mapping[str, object]:
    if not isinstance(value, Mapping):
        raise OrthancUnavailable(f"unexpected answer from Orthanc for {what}")
    return value


def _list(value: object, what: str) -> list[object]:
    if not isinstance(value, list):
        raise OrthancUnavailable(f"unexpected answer from Orthanc for {what}")
    return value


def _text(data: Mapping[str, object], key: str) -> str:
    value = data.get(key)
    return value if isinstance(value, str) else ""


def _int(data: Mapping[str, object], key: str, what: str) -> int:
    value = data.get(key)
    if not isinstance(value, int) or isinstance(value, bool):
        raise OrthancUnavailable(f"unexpected answer from Orthanc for {what}: {key}")
    return value


def _ids(value: object, what: str) -> tuple[str, ...]:
    return tuple(str(item) for item in _list(value, what))


def changes_page(payload: object) -> ChangesPage:
    """Parse ``GET /changes``."""
    data = _mapping(payload, "changes")
    changes = []
    for raw in _list(data.get("Changes"), "changes"):
        item = _mapping(raw, "change")
        changes.append(
            Change(
                seq=_int(item, "Seq", "change"),
                change_type=_text(item, "ChangeType"),
                resource_type=_text(item, "ResourceType"),
                orthanc_id=_text(item, "ID"),
            )
        )
    return ChangesPage(
        changes=changes, last=_int(data, "Last", "changes"), done=data.get("Done") is True
    )


def series_info(payload: object) -> SeriesInfo:
    """Parse one element of ``GET /studies/{id}/series``."""
    data = _mapping(payload, "series")
    tags = _mapping(data.get("MainDicomTags", {}), "series tags")
    return SeriesInfo(
        orthanc_id=_text(data, "ID"),
        series_instance_uid=_text(tags, "SeriesInstanceUID"),
        modality=_text(tags, "Modality"),
        body_part_examined=_text(tags, "BodyPartExamined"),
        series_description=_text(tags, "SeriesDescription"),
        series_number=_text(tags, "SeriesNumber"),
        instance_ids=_ids(data.get("Instances"), "series instances"),
    )


def study_info(study_payload: object, series_payload: object) -> StudyInfo:
    """Parse ``GET /studies/{id}`` together with ``GET /studies/{id}/series``."""
    data = _mapping(study_payload, "study")
    tags = _mapping(data.get("MainDicomTags", {}), "study tags")
    patient = _mapping(data.get("PatientMainDicomTags", {}), "patient tags")
    series = sorted(
        (series_info(item) for item in _list(series_payload, "study series")),
        key=lambda s: (s.series_number.zfill(12), s.series_instance_uid),
    )
    return StudyInfo(
        orthanc_id=_text(data, "ID"),
        study_instance_uid=_text(tags, "StudyInstanceUID"),
        patient_orthanc_id=_text(data, "ParentPatient"),
        patient_id=_text(patient, "PatientID"),
        patient_name=_text(patient, "PatientName"),
        patient_sex=_text(patient, "PatientSex"),
        patient_birth_date=_text(patient, "PatientBirthDate"),
        accession_number=_text(tags, "AccessionNumber"),
        study_date=_text(tags, "StudyDate"),
        study_time=_text(tags, "StudyTime"),
        study_description=_text(tags, "StudyDescription"),
        institution_name=_text(tags, "InstitutionName"),
        is_stable=data.get("IsStable") is True,
        series=tuple(series),
    )


def instance_origin(payload: object) -> InstanceOrigin:
    """Parse ``GET /instances/{id}/metadata?expand``."""
    data = _mapping(payload, "instance metadata")
    return InstanceOrigin(
        origin=_text(data, "Origin") or "Unknown",
        remote_aet=_text(data, "RemoteAET"),
        called_aet=_text(data, "CalledAET"),
        remote_ip=_text(data, "RemoteIP"),
        http_username=_text(data, "HttpUsername"),
        reception_date=_text(data, "ReceptionDate"),
    )


def upload_result(payload: object) -> UploadResult:
    """Parse ``POST /instances`` for a single DICOM file."""
    if isinstance(payload, list):  # Orthanc unpacked an archive: we never send one
        raise OrthancRejected("Orthanc treated the upload as an archive")
    data = _mapping(payload, "upload")
    status = _text(data, "Status")
    if status == "Success":
        return UploadResult(_text(data, "ID"), "Success", _text(data, "ParentStudy"))
    if status == "AlreadyStored":
        return UploadResult(_text(data, "ID"), "AlreadyStored", _text(data, "ParentStudy"))
    raise OrthancRejected(f"upload not stored: {status or 'no status'}")


def modalities(payload: object) -> list[DicomNode]:
    """Parse ``GET /modalities?expand``."""
    data = _mapping(payload, "modalities")
    nodes = []
    for name, raw in data.items():
        item = _mapping(raw, "modality")
        nodes.append(
            DicomNode(
                name=name,
                aet=_text(item, "AET"),
                host=_text(item, "Host"),
                port=_int(item, "Port", "modality"),
            )
        )
    return sorted(nodes, key=lambda n: n.name)


def id_list(payload: object) -> list[str]:
    """Parse a plain list of Orthanc ids such as ``GET /studies``."""
    return list(_ids(payload, "id list"))


def sop_instance_uids(payload: object) -> list[str]:
    """Parse ``GET /studies/{id}/instances`` into the SOP Instance UIDs it lists."""
    uids = []
    for raw in _list(payload, "study instances"):
        tags = _mapping(_mapping(raw, "instance").get("MainDicomTags", {}), "instance tags")
        uids.append(_text(tags, "SOPInstanceUID"))
    return uids


def series_of_instances(payload: object) -> dict[str, list[str]]:
    """Parse ``GET /studies/{id}/instances`` into Orthanc series id -> SOP Instance UIDs."""
    grouped: dict[str, list[str]] = {}
    for raw in _list(payload, "study instances"):
        item = _mapping(raw, "instance")
        tags = _mapping(item.get("MainDicomTags", {}), "instance tags")
        grouped.setdefault(_text(item, "ParentSeries"), []).append(_text(tags, "SOPInstanceUID"))
    return grouped


def instance_count(payload: object) -> int:
    """Parse ``GET /statistics`` into the number of indexed instances."""
    return _int(_mapping(payload, "statistics"), "CountInstances", "statistics")


def attachment_uuid(payload: object) -> str:
    """Parse ``GET /instances/{id}/attachments/dicom/info`` into the file's UUID."""
    return _text(_mapping(payload, "attachment"), "Uuid")


_CONTENT_PART = re.compile(r"^(?:[0-9a-fA-F]{4}-[0-9a-fA-F]{4}|[0-9]{1,6})$")


def check_content_path(path: Sequence[str]) -> None:
    """Refuse a ``/content`` path that is not tags ("0020-0037") and item indices ("0")."""
    if not path or not all(_CONTENT_PART.match(part) for part in path):
        raise ValueError(f"not a tag path: {list(path)!r}")


def content_text(raw: bytes) -> str:
    """Decode a tag value from ``GET /instances/{id}/content/...`` (DICOM pads with space/NUL)."""
    return raw.decode("latin-1").rstrip(" \x00")


def frame_counts(payload: object) -> list[int]:
    """Parse ``GET /series/{id}/instances`` into each instance's Number of Frames (1 if none)."""
    counts = []
    for raw in _list(payload, "series instances"):
        tags = _mapping(_mapping(raw, "instance").get("MainDicomTags", {}), "instance tags")
        try:
            counts.append(max(int(_text(tags, "NumberOfFrames").strip() or 1), 1))
        except ValueError:
            counts.append(1)  # a malformed count says nothing about the frames: one image
    return counts
