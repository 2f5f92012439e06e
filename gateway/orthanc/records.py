"""Plain values exchanged with Orthanc: change feed entries, studies, origins, DICOM nodes.

DICOM keywords stay inside ``gateway.orthanc``; these records expose them as snake_case fields.
A DICOM attribute that is absent or empty is ``""`` (type 2 semantics: empty equals absent).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal

# Orthanc ids are SHA-1 digests printed as 5 groups of 8 hex digits; checking the shape keeps
# anything else out of the URL paths we build.
_ORTHANC_ID = re.compile(r"^[0-9a-f]{8}(?:-[0-9a-f]{8}){4}$")
# A modality name is a path segment of /modalities/{name}: keep it boring.
_MODALITY_NAME = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,63}$")
_AE_TITLE_MAX = 16


class ChangeType(StrEnum):
    """The ``ChangeType`` values of Orthanc's ``/changes`` feed (1.10)."""

    COMPLETED_SERIES = "CompletedSeries"
    DELETED = "Deleted"
    NEW_CHILD_INSTANCE = "NewChildInstance"
    NEW_INSTANCE = "NewInstance"
    NEW_PATIENT = "NewPatient"
    NEW_SERIES = "NewSeries"
    NEW_STUDY = "NewStudy"
    STABLE_PATIENT = "StablePatient"
    STABLE_SERIES = "StableSeries"
    STABLE_STUDY = "StableStudy"
    UPDATED_ATTACHMENT = "UpdatedAttachment"
    UPDATED_METADATA = "UpdatedMetadata"


class ResourceType(StrEnum):
    """The ``ResourceType`` values of Orthanc's ``/changes`` feed."""

    PATIENT = "Patient"
    STUDY = "Study"
    SERIES = "Series"
    INSTANCE = "Instance"


class Origin(StrEnum):
    """How an instance reached Orthanc (its ``Origin`` metadata)."""

    DICOM_PROTOCOL = "DicomProtocol"
    REST_API = "RestApi"
    PLUGINS = "Plugins"
    LUA = "Lua"
    WEBDAV = "WebDav"
    UNKNOWN = "Unknown"


UploadStatus = Literal["Success", "AlreadyStored"]


def check_orthanc_id(orthanc_id: str) -> str:
    """Return ``orthanc_id`` if it has the shape of an Orthanc id, else raise ``ValueError``."""
    if not _ORTHANC_ID.match(orthanc_id):
        raise ValueError(f"not an Orthanc id: {orthanc_id!r}")
    return orthanc_id


def check_ae_title(aet: str) -> str:
    """Return ``aet`` if it is a valid DICOM AE title (1-16 chars, no backslash/control chars)."""
    if not 0 < len(aet) <= _AE_TITLE_MAX or not aet.strip():
        raise ValueError(f"AE title must be 1-{_AE_TITLE_MAX} characters: {aet!r}")
    if "\\" in aet or not aet.isascii() or not aet.isprintable():
        raise ValueError(f"AE title has forbidden characters: {aet!r}")
    return aet


def check_modality_name(name: str) -> str:
    """Return ``name`` if it is safe as an Orthanc modality alias (a URL path segment)."""
    if not _MODALITY_NAME.match(name):
        raise ValueError(f"modality name must match {_MODALITY_NAME.pattern}: {name!r}")
    return name


@dataclass(frozen=True, slots=True)
class DicomNode:
    """A remote DICOM application entity allowed to C-ECHO and C-STORE to Orthanc."""

    name: str  # Orthanc's alias for the modality
    aet: str
    host: str
    port: int

    def __post_init__(self) -> None:
        check_modality_name(self.name)
        check_ae_title(self.aet)
        if not self.host or any(c.isspace() for c in self.host):
            raise ValueError(f"invalid host: {self.host!r}")
        if not 0 < self.port < 65536:
            raise ValueError(f"invalid port: {self.port}")


@dataclass(frozen=True, slots=True)
class Change:
    """One entry of Orthanc's change feed."""

    seq: int
    change_type: str  # compare with ChangeType members; unknown future types pass through
    resource_type: str
    orthanc_id: str


@dataclass(frozen=True, slots=True)
class ChangesPage:
    """A page of the change feed; ``last`` is the cursor to pass as ``since`` next time."""

    changes: list[Change]
    last: int
    done: bool


@dataclass(frozen=True, slots=True)
class SeriesInfo:
    """One series of a study as Orthanc indexes it."""

    orthanc_id: str
    series_instance_uid: str
    modality: str
    body_part_examined: str
    series_description: str
    series_number: str
    instance_ids: tuple[str, ...]

    @property
    def instance_count(self) -> int:
        """Return the number of instances Orthanc holds for this series."""
        return len(self.instance_ids)


@dataclass(frozen=True, slots=True)
class StudyInfo:
    """A study with its patient fields; names are UTF-8 as decoded by Orthanc."""

    orthanc_id: str
    study_instance_uid: str
    patient_orthanc_id: str
    patient_id: str
    patient_name: str
    patient_sex: str
    patient_birth_date: str
    accession_number: str
    study_date: str
    study_time: str
    study_description: str
    institution_name: str
    is_stable: bool
    series: tuple[SeriesInfo, ...] = field(default_factory=tuple)

    @property
    def modalities_in_study(self) -> tuple[str, ...]:
        """Return the distinct modalities of the series, sorted (computed, not the DICOM tag)."""
        return tuple(sorted({s.modality for s in self.series if s.modality}))

    @property
    def instance_ids(self) -> tuple[str, ...]:
        """Return the Orthanc ids of every instance, series by series."""
        return tuple(i for s in self.series for i in s.instance_ids)

    @property
    def instance_count(self) -> int:
        """Return the number of instances over all series."""
        return sum(s.instance_count for s in self.series)


@dataclass(frozen=True, slots=True)
class InstanceOrigin:
    """Who sent an instance: Orthanc's reception metadata."""

    origin: str  # an Origin member, or whatever a newer Orthanc reports
    remote_aet: str  # calling AE title; "" unless received over DICOM
    called_aet: str
    remote_ip: str
    http_username: str  # "" unless received over REST
    reception_date: str  # Orthanc local time, e.g. "20260115T101500"


@dataclass(frozen=True, slots=True)
class UploadResult:
    """Outcome of a REST upload; ``AlreadyStored`` means the SOP instance was there before."""

    orthanc_id: str
    status: UploadStatus
    parent_study: str
