"""Run one de-identified export end to end: select, copy, write the manifest, audit.

The database is touched only in two short transactions (select, then audit), never while
instances are copied, as in the archive runner.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from gateway.deid import Deidentifier, Options, consortium_key
from gateway.deid.method import method_codes
from gateway.export.copier import Destination, Progress, copy_instances
from gateway.export.manifest import MANIFEST_NAME, ExportManifest
from gateway.export.selection import (
    ACTION,
    Exporter,
    ExportRefused,
    Selection,
    exporter_for,
    select_studies,
)
from gateway.orthanc.port import OrthancPort
from services.audit import service as audit
from services.kit.clock import utc_now
from services.kit.db import session_scope
from services.kit.ids import new_id
from services.kit.settings import CoreSettings
from services.kit.storage import InvalidObjectKey, LocalDiskStore, S3Store, validate_key

log = logging.getLogger("radbridge.export")


@dataclass(frozen=True)
class ExportReport:
    """What one export wrote."""

    export_id: str
    destination: str
    manifest_key: str
    manifest_sha256: str
    studies: int
    files: int
    blocked: int


def open_destination(target: str, settings: CoreSettings) -> Destination:
    """Return the store for a folder path or ``s3://bucket/prefix`` (S3 endpoint from settings)."""
    if target.startswith("s3://"):
        bucket, _, prefix = target[len("s3://") :].partition("/")
        prefix = prefix.strip("/")
        if not bucket:
            raise ExportRefused("an S3 destination looks like s3://bucket/prefix")
        try:
            if prefix:
                validate_key(prefix)
        except InvalidObjectKey as exc:
            raise ExportRefused(f"unusable S3 prefix: {exc}") from exc
        storage = settings.storage.model_copy(update={"backend": "s3", "s3_bucket": bucket})
        store = S3Store.from_settings(storage)
        store.ensure_bucket()
        return Destination(store, f"{prefix}/" if prefix else "", f"s3://{bucket}/{prefix}")
    folder = Path(target).expanduser()
    if folder.exists() and not folder.is_dir():
        raise ExportRefused(f"{folder} is a file; give a folder (it is created if missing)")
    return Destination(LocalDiskStore(folder), "", f"folder {folder.resolve()}")


def _profile(options: Options) -> dict[str, object]:
    return {
        "standard": "DICOM PS3.15 Annex E",
        "codes": [{"value": v, "scheme": "DCM", "meaning": m} for v, m in method_codes(options)],
        "private_attributes": "removed",
        "dates": "shifted by a per-patient offset (whole days)" if options.modified_dates else "",
    }


def _audit(
    session: Session, exporter: Exporter, export_id: str, outcome: str, detail: dict[str, object]
) -> None:
    audit.record(
        session,
        actor=exporter.actor,
        action=ACTION,
        object_type="export",
        object_id=export_id,
        tenant_id=exporter.tenant_id,
        outcome=outcome,
        detail=detail,
    )


def export_studies(  # noqa: PLR0913 - keyword-only inputs of one export
    *,
    account: str | uuid.UUID,
    selection: Selection,
    destination: Destination,
    orthanc: OrthancPort,
    settings: CoreSettings,
    allow_burned_in: bool = False,
    progress: Progress | None = None,
    factory: sessionmaker[Session] | None = None,
    export_id: str | None = None,
) -> ExportReport:
    """Export the selected studies, de-identified, with a manifest; audit the outcome."""
    with session_scope(factory) as session:
        exporter = exporter_for(session, account)
        studies = select_studies(session, exporter, selection)
    manifest_key = destination.prefix + MANIFEST_NAME
    if destination.store.exists(manifest_key):
        raise ExportRefused(f"{destination.description} already holds an export; choose another")
    options = Options()
    key = consortium_key(settings.deid.secret.get_secret_value().encode(), exporter.tenant_id)
    export_id = export_id or str(new_id())
    manifest = ExportManifest(export_id, utc_now().isoformat(), _profile(options))
    try:
        copy_instances(
            studies,
            orthanc=orthanc,
            deidentifier=Deidentifier(key, options),
            destination=destination,
            manifest=manifest,
            allow_burned_in=allow_burned_in,
            progress=progress,
        )
        stored = destination.store.put(manifest_key, manifest.to_bytes(), "application/json")
    except Exception as exc:
        log.exception("export %s failed", export_id)
        with session_scope(factory) as session:
            detail = {"error": type(exc).__name__, "studies": len(studies)}
            _audit(session, exporter, export_id, "failure", detail)
        raise
    report = ExportReport(
        export_id=export_id,
        destination=destination.description,
        manifest_key=manifest_key,
        manifest_sha256=stored.sha256,
        studies=len(studies),
        files=len(manifest.files),
        blocked=len(manifest.blocked),
    )
    with session_scope(factory) as session:
        detail = {
            "destination": destination.description.split(" ")[0],
            "studies": report.studies,
            "files": report.files,
            "blocked": report.blocked,
            "manifest_sha256": report.manifest_sha256,
            "allow_burned_in": allow_burned_in,
        }
        _audit(session, exporter, export_id, "success", detail)
        for ref in studies:
            audit.record(
                session,
                actor=exporter.actor,
                action="export.study",
                object_type="study",
                object_id=ref.study_id,
                tenant_id=ref.tenant_id,
                study_id=ref.study_id,
                detail={"export_id": export_id},
            )
    return report
