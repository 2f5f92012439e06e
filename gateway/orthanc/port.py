"""What the gateway needs from Orthanc, as a port its code depends on (Cosmic Python style)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from gateway.orthanc.records import ChangesPage, DicomNode, InstanceOrigin, StudyInfo, UploadResult


class OrthancPort(Protocol):
    """The Orthanc operations the gateway uses.

    Every method raises ``OrthancUnavailable`` when Orthanc cannot be reached in time or fails
    internally, ``OrthancNotFound`` for a missing resource and ``OrthancRejected`` for other 4xx.
    """

    def is_alive(self) -> bool:
        """Return whether Orthanc answers ``/system`` with our credentials."""
        ...

    def get_changes(self, since: int, limit: int = 100) -> ChangesPage:
        """Return up to ``limit`` changes with a sequence number above ``since``."""
        ...

    def get_study(self, orthanc_id: str) -> StudyInfo:
        """Return a study, its patient fields, series and instance ids."""
        ...

    def get_instance_origin(self, instance_id: str) -> InstanceOrigin:
        """Return how and from whom an instance was received."""
        ...

    def get_instance_tags(self, instance_id: str) -> dict[str, str]:
        """Return an instance's text-valued tags by keyword (sequences left out)."""
        ...

    def get_instance_value(self, instance_id: str, path: Sequence[str]) -> str | None:
        """Return one tag's text, nested in sequences by ``path``; None when it is absent.

        ``path`` alternates tags ("5200-9229") and item indices ("0"), ending on a tag.
        """
        ...

    def series_frame_counts(self, series_id: str) -> list[int]:
        """Return the Number of Frames of each instance of a series (1 when absent)."""
        ...

    def get_instance_file(self, instance_id: str) -> bytes:
        """Return the stored DICOM file of an instance."""
        ...

    def upload_instance(self, data: bytes) -> UploadResult:
        """Store one DICOM instance; storing it again answers ``AlreadyStored``."""
        ...

    def delete_instance(self, instance_id: str) -> bool:
        """Delete an instance; return False if it was already gone."""
        ...

    def delete_study(self, orthanc_id: str) -> bool:
        """Delete one study (never its patient); return False if it was already gone."""
        ...

    def list_study_ids(self, since: int = 0, limit: int = 1000) -> list[str]:
        """Return up to ``limit`` Orthanc study ids, skipping the first ``since`` (paging)."""
        ...

    def study_sop_instance_uids(self, orthanc_id: str) -> list[str]:
        """Return the SOP Instance UIDs of every instance of a study."""
        ...

    def study_evidence(self, orthanc_id: str) -> dict[str, list[tuple[str, str]]]:
        """Return SeriesInstanceUID -> [(SOP Class UID, SOP Instance UID)] of a study."""
        ...

    def instance_count(self) -> int:
        """Return how many instances Orthanc's index holds."""
        ...

    def attachment_uuid(self, instance_id: str) -> str | None:
        """Return the storage file name of an instance's DICOM file; None if not indexed."""
        ...

    def set_modality(self, name: str, aet: str, host: str, port: int) -> None:
        """Create or replace a DICOM node allowed to C-ECHO and C-STORE (no restart needed)."""
        ...

    def delete_modality(self, name: str) -> bool:
        """Remove a DICOM node; return False if it was not registered."""
        ...

    def list_modalities(self) -> list[DicomNode]:
        """Return the DICOM nodes Orthanc currently accepts, sorted by name."""
        ...
