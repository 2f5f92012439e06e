"""Write a signed report version into its own study in Orthanc, as SR and Encapsulated PDF.

Viewers and the clinic's PACS (through Orthanc) then show the report beside the images. The
objects carry the PatientID the study's images carry in Orthanc (namespaced per clinic), so
Orthanc files them under the same patient and study; their UIDs derive from the report
version, so a rerun stores nothing twice (Orthanc answers ``AlreadyStored``).
"""

from __future__ import annotations

import io
import uuid
from dataclasses import dataclass

from pydicom.dataset import Dataset
from sqlalchemy.orm import Session

from gateway.orthanc.port import OrthancPort
from services.audit import service as audit
from services.delivery.channels.encapsulated_pdf import build_encapsulated_pdf
from services.kit.clock import utc_now
from services.kit.settings import CoreSettings
from services.models import Report, Study
from services.report.interop.export import build_export
from services.report.interop.report_sr import build_report_sr
from services.report.storage import load_pdf

SYSTEM = "system:report-objects"


@dataclass(frozen=True)
class StoredObjects:
    """What was written: SOP Instance UIDs and Orthanc's status for each."""

    sr_uid: str
    pdf_uid: str
    statuses: tuple[str, str]


def _bytes(ds: Dataset) -> bytes:
    out = io.BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()


def store_report_objects(
    session: Session, settings: CoreSettings, orthanc: OrthancPort, *, report_id: uuid.UUID
) -> StoredObjects | None:
    """Store the SR and the signed PDF of a rendered report; None if there is nothing to do."""
    report = session.get(Report, report_id)
    if report is None or report.signed_at is None or not report.pdf_key:
        return None
    study = session.get(Study, report.study_id)
    if study is None or not study.orthanc_id:
        return None
    info = orthanc.get_study(study.orthanc_id)
    export = build_export(session, report, load_pdf(settings, report))
    assert export.pdf is not None
    now = utc_now()
    sr = build_report_sr(
        export,
        now=now,
        evidence=orthanc.study_evidence(study.orthanc_id),
        patient_id=info.patient_id,
    )
    pdf = build_encapsulated_pdf(export, export.pdf, now=now, patient_id=info.patient_id)
    first = orthanc.upload_instance(_bytes(sr))
    second = orthanc.upload_instance(_bytes(pdf))
    stored = StoredObjects(
        sr_uid=str(sr.SOPInstanceUID),
        pdf_uid=str(pdf.SOPInstanceUID),
        statuses=(str(first.status), str(second.status)),
    )
    audit.record(
        session,
        actor=SYSTEM,
        action="report.stored_in_orthanc",
        object_type="report",
        object_id=report.id,
        tenant_id=report.tenant_id,
        study_id=study.id,
        detail={"sr": stored.sr_uid, "pdf": stored.pdf_uid, "status": list(stored.statuses)},
    )
    return stored
