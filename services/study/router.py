"""Study endpoints: list and read what the caller may see, download the signed report PDF."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from services.auth.dependencies import Scope, require_roles
from services.auth.principal import Principal
from services.domain.roles import CLINICAL_ROLES
from services.finding import service as finding_service
from services.kit.http import DbSession, Settings
from services.report import service as report_service
from services.report.exceptions import ReportNotFound
from services.report.storage import load_pdf
from services.study import service
from services.study.schemas import FindingRead, SeriesRead, StudyDetail, StudyRead

router = APIRouter(prefix="/api/v1/studies", tags=["studies"])
Clinical = Annotated[Principal, Depends(require_roles(*CLINICAL_ROLES))]


@router.get("", response_model=list[StudyRead])
def list_studies(
    session: DbSession,
    scope: Scope,
    _principal: Clinical,
    status: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[StudyRead]:
    """List the studies the caller may see, newest first."""
    studies = service.list_visible(session, scope=scope, status=status, limit=limit)
    return [StudyRead.model_validate(s) for s in studies]


@router.get("/{study_id}", response_model=StudyDetail)
def get_study(
    session: DbSession, scope: Scope, principal: Clinical, study_id: uuid.UUID
) -> StudyDetail:
    """Return one study with its series, AI findings and report state."""
    study = service.get_visible(session, scope=scope, principal=principal, study_id=study_id)
    report = report_service.latest(session, study_id=study.id)
    findings = finding_service.of_study(session, study.id)
    notices = finding_service.notices(session, findings)
    return StudyDetail(
        **StudyRead.model_validate(study).model_dump(),
        series=[SeriesRead.model_validate(s) for s in service.series(session, study=study)],
        findings=[
            FindingRead.model_validate(f).model_copy(
                update={
                    "notice_en": notices[(f.model_name, f.model_version)]["en"],
                    "notice_zh": notices[(f.model_name, f.model_version)]["zh-CN"],
                }
            )
            for f in findings
        ],
        report_status=report.status if report else None,
        report_pdf_available=bool(report and report.pdf_key),
    )


@router.get("/{study_id}/report.pdf", response_class=Response)
def download_report_pdf(
    session: DbSession, settings: Settings, scope: Scope, principal: Clinical, study_id: uuid.UUID
) -> Response:
    """Download the signed report as PDF."""
    study = service.get_visible(session, scope=scope, principal=principal, study_id=study_id)
    report = report_service.latest_signed(session, study_id=study.id)  # not a draft addendum
    if report is None:
        raise ReportNotFound("This study has no signed report yet.")
    if not report.pdf_key:
        raise ReportNotFound("The report is signed; its PDF is being prepared, try again shortly.")
    pdf = load_pdf(settings, report)
    filename = f"report-{study.accession_number or study.id}.pdf"
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
