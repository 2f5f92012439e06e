"""Store the result objects an AI run produces (SR, later SEG/GSPS) into Orthanc over REST.

Orthanc keys instances by their UIDs, so storing a job's report a second time (a retried or
replayed job) changes nothing: Orthanc answers ``AlreadyStored``.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Literal, Protocol

import httpx
from pydicom.dataset import Dataset

from inference.dicom.source import SourceUnavailable

StoreStatus = Literal["Success", "AlreadyStored"]


class ResultStoreUnavailable(SourceUnavailable):
    """Orthanc could not take the object now; the job goes back to the queue."""


class ResultStoreRejected(Exception):
    """Orthanc refused the object (it is not valid DICOM to Orthanc); retrying will not help."""


@dataclass(frozen=True)
class StoredObject:
    """Where a result object landed."""

    sop_instance_uid: str
    orthanc_id: str
    parent_study: str
    status: StoreStatus


def encode(dataset: Dataset) -> bytes:
    """Return ``dataset`` as a DICOM Part 10 file (preamble, DICM, file meta)."""
    buffer = io.BytesIO()
    dataset.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


class ResultWriter(Protocol):
    """Where the result objects of a run are stored (Orthanc in RadBridge)."""

    def store(self, dataset: Dataset) -> StoredObject:
        """Store one object; storing the same SOP instance again gives ``AlreadyStored``.

        Raises ``ResultStoreUnavailable`` (retry later) or ``ResultStoreRejected`` (do not).
        """
        ...


class OrthancResultWriter:
    """POST result objects to Orthanc's ``/instances``, with a timeout on every call."""

    def __init__(self, url: str, username: str, password: str, *, timeout_s: float = 30.0) -> None:
        self._http = httpx.Client(
            base_url=url.rstrip("/"), auth=(username, password), timeout=timeout_s
        )

    def store(self, dataset: Dataset) -> StoredObject:
        """Store one object; storing the same SOP instance again gives ``AlreadyStored``."""
        try:
            response = self._http.post(
                "/instances",
                content=encode(dataset),
                headers={"Content-Type": "application/dicom"},
            )
        except httpx.TransportError as exc:
            raise ResultStoreUnavailable(
                f"Orthanc unreachable while storing a result: {type(exc).__name__}"
            ) from exc
        if response.status_code >= 500 or response.status_code in (408, 429):
            raise ResultStoreUnavailable(f"Orthanc answered {response.status_code} to a result")
        if response.status_code >= 400:
            raise ResultStoreRejected(
                f"Orthanc refused the result object ({response.status_code}): {response.text[:300]}"
            )
        body = response.json()
        status = body.get("Status")
        if status not in ("Success", "AlreadyStored"):
            raise ResultStoreRejected(f"Orthanc did not store the result object: {body!r:.300}")
        return StoredObject(
            sop_instance_uid=str(dataset.SOPInstanceUID),
            orthanc_id=str(body.get("ID", "")),
            parent_study=str(body.get("ParentStudy", "")),
            status=status,
        )

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._http.close()
