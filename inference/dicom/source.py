"""Read the DICOM instances a model needs from Orthanc's REST API (internal network only)."""

from __future__ import annotations

import io
from typing import Protocol

import httpx
import pydicom
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError


class SourceUnavailable(Exception):
    """Orthanc could not be reached in time; the job should be retried later."""


class SourceDataError(Exception):
    """The series or its file is gone or unreadable; retrying will not help."""


class InstanceSource(Protocol):
    """Where a job's input instances come from (Orthanc in RadBridge)."""

    def representative_instance(self, series_orthanc_id: str) -> Dataset:
        """Return the middle instance of a series, parsed with pixels.

        Raises ``SourceUnavailable`` (retry later) or ``SourceDataError`` (retrying will not help).
        """
        ...


class OrthancInstanceSource:
    """Fetch instances by Orthanc series id, with timeouts on every call."""

    def __init__(self, url: str, username: str, password: str, *, timeout_s: float = 30.0) -> None:
        self._http = httpx.Client(
            base_url=url.rstrip("/"), auth=(username, password), timeout=timeout_s
        )

    def _get(self, path: str) -> httpx.Response:
        try:
            response = self._http.get(path)
        except httpx.TransportError as exc:
            raise SourceUnavailable(f"Orthanc unreachable: {type(exc).__name__}") from exc
        if response.status_code == 404:
            raise SourceDataError(f"Orthanc has no {path}")
        if response.status_code >= 500:
            raise SourceUnavailable(f"Orthanc answered {response.status_code} for {path}")
        response.raise_for_status()
        return response

    def representative_instance(self, series_orthanc_id: str) -> Dataset:
        """Return the middle instance of a series (by InstanceNumber), parsed with pixels."""
        instances = self._get(f"/series/{series_orthanc_id}/instances").json()
        if not instances:
            raise SourceDataError("The series has no instances.")

        def number(item: dict[str, object]) -> int:
            tags = item.get("MainDicomTags", {})
            value = tags.get("InstanceNumber", "") if isinstance(tags, dict) else ""
            return int(value) if str(value).strip().lstrip("-").isdigit() else 0

        instances.sort(key=number)
        chosen = instances[len(instances) // 2]["ID"]
        data = self._get(f"/instances/{chosen}/file").content
        try:
            return pydicom.dcmread(io.BytesIO(data))
        except (InvalidDicomError, ValueError, EOFError) as exc:
            raise SourceDataError(f"Instance {chosen} is not readable DICOM: {exc}") from exc

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._http.close()
