"""The Orthanc-facing layer of the gateway: configuration, local process, REST adapter."""

from gateway.orthanc.client import OrthancClient
from gateway.orthanc.config import OrthancConfig, modality_json
from gateway.orthanc.errors import (
    OrthancError,
    OrthancNotFound,
    OrthancRejected,
    OrthancStartError,
    OrthancUnavailable,
)
from gateway.orthanc.hardening import hardening_violations
from gateway.orthanc.port import OrthancPort
from gateway.orthanc.process import LocalOrthanc
from gateway.orthanc.records import (
    Change,
    ChangesPage,
    ChangeType,
    DicomNode,
    InstanceOrigin,
    Origin,
    ResourceType,
    SeriesInfo,
    StudyInfo,
    UploadResult,
)

__all__ = [
    "Change",
    "ChangeType",
    "ChangesPage",
    "DicomNode",
    "InstanceOrigin",
    "LocalOrthanc",
    "Origin",
    "OrthancClient",
    "OrthancConfig",
    "OrthancError",
    "OrthancNotFound",
    "OrthancPort",
    "OrthancRejected",
    "OrthancStartError",
    "OrthancUnavailable",
    "ResourceType",
    "SeriesInfo",
    "StudyInfo",
    "UploadResult",
    "hardening_violations",
    "modality_json",
]
