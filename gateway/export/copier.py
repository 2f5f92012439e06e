"""Fetch each selected instance from Orthanc, de-identify it and write it out (no database).

Instances are read one at a time, so memory stays at one instance whatever the study size.
An instance whose pixels may identify the patient is de-identified only to name it in the
manifest, and not written unless the administrator allowed it.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pydicom

from gateway.deid import Deidentifier, DeidResult, burned_in_reason
from gateway.export.manifest import BlockedInstance, ExportedFile, ExportManifest
from gateway.export.selection import StudyRef
from gateway.orthanc.port import OrthancPort
from services.kit.storage import ObjectStore

Progress = Callable[[int, int], None]  # (instances done, instances in all)


@dataclass(frozen=True)
class Destination:
    """Where the files go: a store and a key prefix ("" or ending in "/")."""

    store: ObjectStore
    prefix: str
    description: str  # "folder /data/x" or "s3://bucket/prefix", for messages and audit


def instance_path(result: DeidResult) -> str:
    """Return the relative path of an exported instance (only pseudonyms and new UIDs)."""
    return (
        f"{result.patient_pseudonym}/{result.study_instance_uid}/"
        f"{result.series_instance_uid}/{result.sop_instance_uid}.dcm"
    )


def _encode(dataset: pydicom.Dataset) -> bytes:
    buffer = io.BytesIO()
    dataset.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def copy_instances(  # noqa: PLR0913 - keyword-only collaborators of one run
    studies: Sequence[StudyRef],
    *,
    orthanc: OrthancPort,
    deidentifier: Deidentifier,
    destination: Destination,
    manifest: ExportManifest,
    allow_burned_in: bool = False,
    progress: Progress | None = None,
) -> None:
    """De-identify every instance of ``studies`` into ``destination``, filling ``manifest``."""
    plan = [(ref, orthanc.get_study(ref.orthanc_id).instance_ids) for ref in studies]
    total, done = sum(len(ids) for _, ids in plan), 0
    for ref, instance_ids in plan:
        for instance_id in instance_ids:
            dataset = pydicom.dcmread(io.BytesIO(orthanc.get_instance_file(instance_id)))
            risk = burned_in_reason(dataset)
            result = deidentifier.deidentify(dataset, patient_issuer=ref.patient_issuer)
            if risk and not allow_burned_in:
                manifest.blocked.append(
                    BlockedInstance(
                        result.patient_pseudonym,
                        result.study_instance_uid,
                        result.sop_instance_uid,
                        result.sop_class_uid,
                        risk + "; not exported (pixels may identify the patient)",
                    )
                )
            else:
                path = instance_path(result)
                stored = destination.store.put(
                    destination.prefix + path, _encode(dataset), "application/dicom"
                )
                manifest.files.append(
                    ExportedFile(
                        path=path,
                        patient_pseudonym=result.patient_pseudonym,
                        study_instance_uid=result.study_instance_uid,
                        series_instance_uid=result.series_instance_uid,
                        sop_instance_uid=result.sop_instance_uid,
                        sop_class_uid=result.sop_class_uid,
                        size=stored.size,
                        sha256=stored.sha256,
                        burned_in_allowed=risk or "",
                    )
                )
            done += 1
            if progress is not None:
                progress(done, total)
