"""Render a signed report to PDF and store it (runs in a worker)."""

from __future__ import annotations

import hashlib
import uuid
from datetime import date
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from services.audit import service as audit
from services.contracts.task_names import QUEUE_DEFAULT, STORE_REPORT_OBJECTS
from services.delivery import service as delivery_service
from services.finding import service as finding_service
from services.kit.db import enqueue
from services.kit.settings import CoreSettings
from services.models import Organization, Report, SigningIdentity, Study, Tenant, User
from services.report import key_images, letterhead
from services.report.document import AiFindingLine, ReportDocument
from services.report.pdf import render_report_pdf
from services.report.signing import keystore
from services.report.signing.local import REVIEWER_FIELD_NAME
from services.report.storage import object_store, pdf_key
from services.worklist import repository as worklist_repository

CHINA = ZoneInfo("Asia/Shanghai")


def _study_date(value: str) -> date:
    try:
        return date(int(value[:4]), int(value[4:6]), int(value[6:8]))
    except (ValueError, IndexError):
        return date(1900, 1, 1)


def _birth_date(value: str) -> date | None:
    parsed = _study_date(value)
    return None if parsed.year == 1900 else parsed


def build_document(session: Session, settings: CoreSettings, report: Report) -> ReportDocument:
    """Collect everything the PDF shows into one immutable snapshot."""
    study = session.get(Study, report.study_id)
    author = session.get(User, report.author_id)
    assert study is not None
    assert author is not None
    assert report.signed_at is not None
    clinic = session.get(Organization, study.organization_id)
    item = worklist_repository.by_study(session, study.id)
    hospital = session.get(Organization, item.reader_org_id) if item else None
    head = _letterhead(session, hospital)
    ai_lines = tuple(
        AiFindingLine(
            model_name=f.model_name,
            model_version=f.model_version,
            summary=f"{f.label_zh if report.language == 'zh-CN' else f.label_en} ({f.score:.2f})",
        )
        for f in finding_service.of_study(session, study.id)
    )
    return ReportDocument(
        report_id=str(report.id),
        language="en" if report.language == "en" else "zh-CN",
        hospital_name=hospital.name if hospital else "",
        clinic_name=clinic.name if clinic else "",
        patient_name=study.patient_name,
        patient_id=study.patient_id,
        sex=study.patient_sex,
        accession=study.accession_number,
        modality=study.modality,
        study_date=_study_date(study.study_date),
        exam_description=study.description,
        findings=report.findings,
        impression=report.impression,
        author_name=author.display_name,
        signed_at=report.signed_at.astimezone(CHINA),
        reviewer_name=_display_name(session, report.cosigner_id),
        reviewed_at=report.cosigned_at.astimezone(CHINA) if report.cosigned_at else None,
        birth_date=_birth_date(study.patient_birth_date),
        ai_findings=ai_lines,
        letterhead_lines=head.lines,
        logo=head.logo,
        images_url=_cloud_film(settings, study),
        key_images=key_images.printable(session, settings, report),
    )


def _letterhead(session: Session, hospital: Organization | None) -> letterhead.Letterhead:
    """Return the hospital's letterhead (lines, logo), kept in the consortium's settings."""
    if hospital is None:
        return letterhead.Letterhead()
    tenant = session.get(Tenant, hospital.tenant_id)
    return letterhead.from_settings((tenant.settings or {}) if tenant else {}, hospital.code)


def _cloud_film(settings: CoreSettings, study: Study) -> str | None:
    if not settings.cloud_film_url:
        return None
    return settings.cloud_film_url.replace("{study_uid}", study.study_instance_uid)


def _display_name(session: Session, user_id: uuid.UUID | None) -> str:
    user = session.get(User, user_id) if user_id else None
    return user.display_name if user else ""


def render_and_store(session: Session, settings: CoreSettings, *, report_id: uuid.UUID) -> bool:
    """Render the signed report's PDF once and store it; return False if nothing was to do."""
    report = session.get(Report, report_id, with_for_update=True)
    # A PRELIMINARY version waits for its countersignature: the PDF shows both signers.
    if report is None or report.status in ("DRAFT", "PRELIMINARY") or report.pdf_key:
        return False
    pdf = render_report_pdf(build_document(session, settings, report))
    if report.signer_identity_id is not None:  # PAdES: the PDF carries the author's signature
        identity = session.get(SigningIdentity, report.signer_identity_id)
        assert identity is not None
        author = session.get(User, report.author_id)
        pdf = keystore.signer(session, settings, identity).sign_pdf(
            pdf,
            reason="Radiology report signed / 影像诊断报告签发",
            name=author.display_name if author else "",
        )
    if report.cosigner_identity_id is not None:  # 双签: the reviewer signs the PDF too
        reviewer = session.get(SigningIdentity, report.cosigner_identity_id)
        assert reviewer is not None
        pdf = keystore.signer(session, settings, reviewer).sign_pdf(
            pdf,
            reason="Reviewed and countersigned / 审核签发",
            name=_display_name(session, report.cosigner_id),
            field=REVIEWER_FIELD_NAME,
        )
    key = pdf_key(report)
    object_store(settings).put(key, pdf, "application/pdf")
    report.pdf_key = key
    report.pdf_sha256 = hashlib.sha256(pdf).hexdigest()
    audit.record(
        session,
        actor="system:report-renderer",
        action="report.pdf_rendered",
        object_type="report",
        object_id=report.id,
        tenant_id=report.tenant_id,
        study_id=report.study_id,
        detail={"bytes": len(pdf), "sha256": report.pdf_sha256},
    )
    delivery_service.queue_for_report(session, report=report)  # RENDERED -> deliveries
    # The gateway stores the report into its study in Orthanc (SR + Encapsulated PDF).
    enqueue(session, STORE_REPORT_OBJECTS, queue=QUEUE_DEFAULT, report_id=str(report.id))
    return True
