"""Find files in a local Orthanc's storage folder that its index does not reference.

Killing Orthanc between writing a file and committing its index leaves such a file (measured
here: 2 of 6 kills mid-ingest). It was never acknowledged to the sender, so nothing is lost,
but it takes disk space forever. Files younger than ``grace`` are skipped (they may be an upload
in flight); orphans are moved aside, not deleted, so an operator can look at them.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import pydicom
from pydicom.errors import InvalidDicomError

from gateway.orthanc.port import OrthancPort

log = logging.getLogger("radbridge.reconcile")
_KEYS = ("PatientID", "StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID")


@dataclass
class OrphanFiles:
    """Files in Orthanc's storage folder and those its index does not know."""

    files: int = 0
    orphans: list[str] = field(default_factory=list)
    moved: int = 0


def instance_id_of(path: Path) -> str | None:
    """Return Orthanc's instance id for a stored file (SHA-1 of its DICOM ids), if readable."""
    try:
        ds = pydicom.dcmread(path, stop_before_pixels=True, force=True, specific_tags=list(_KEYS))
    except (InvalidDicomError, OSError, ValueError, EOFError):
        return None
    parts = [str(ds.get(k, "")).strip() for k in _KEYS]
    digest = hashlib.sha1("|".join(parts).encode(), usedforsecurity=False).hexdigest()
    return "-".join(digest[i : i + 8] for i in range(0, 40, 8))


def _is_orphan(orthanc: OrthancPort, path: Path) -> bool:
    instance_id = instance_id_of(path)
    return instance_id is None or orthanc.attachment_uuid(instance_id) != path.name


def find_orphan_files(
    orthanc: OrthancPort,
    storage_dir: Path,
    *,
    grace_s: float = 600.0,
    move_to: Path | None = None,
) -> OrphanFiles:
    """Report unreferenced files older than ``grace_s``; move them to ``move_to`` if given."""
    report = OrphanFiles()
    if not storage_dir.is_dir():
        return report
    files = [p for p in storage_dir.glob("*/*/*") if p.is_file()]
    report.files = len(files)
    if report.files <= orthanc.instance_count():
        return report  # one file per instance: nothing extra (the cheap, common case)
    cutoff = time.time() - grace_s
    for path in files:
        if path.stat().st_mtime < cutoff and _is_orphan(orthanc, path):
            report.orphans.append(path.name)
            if move_to is not None:
                move_to.mkdir(parents=True, exist_ok=True)
                shutil.move(path, move_to / path.name)
                report.moved += 1
    if report.orphans:
        log.warning("%d orphan files in Orthanc's storage", len(report.orphans))
    return report
