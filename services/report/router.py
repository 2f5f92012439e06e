"""Report endpoints: write a draft of a claimed study, sign it, read it."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends

from services.auth.dependencies import Scope, require_roles
from services.auth.principal import Principal
from services.domain.roles import CLINICAL_ROLES, READER_ROLES
from services.kit.http import DbSession
from services.models import Report
from services.report import service
from services.report.exceptions import ReportNotFound
from services.report.schemas import ReportDraft, ReportRead
from services.study import service as study_service

router = APIRouter(prefix="/api/v1/studies/{study_id}/report", tags=["reports"])
Reader = Annotated[Principal, Depends(require_roles(*READER_ROLES))]
Clinical = Annotated[Principal, Depends(require_roles(*CLINICAL_ROLES))]


def _read(report: Report) -> ReportRead:
    return ReportRead.model_validate(report).model_copy(
        update={"pdf_available": bool(report.pdf_key)}
    )


@router.get("", response_model=ReportRead)
def get_report(
    session: DbSession, scope: Scope, principal: Clinical, study_id: uuid.UUID
) -> ReportRead:
    """Return the newest report version; clinics see signed reports only."""
    study = study_service.get_visible(session, scope=scope, principal=principal, study_id=study_id)
    report = service.latest(session, study_id=study.id)
    is_reader = principal.has_any(READER_ROLES)
    if report is None or (report.status == "DRAFT" and not is_reader):
        raise ReportNotFound("This study has no signed report yet.")
    return _read(report)


@router.put("/draft", response_model=ReportRead)
def save_draft(
    session: DbSession, scope: Scope, principal: Reader, study_id: uuid.UUID, body: ReportDraft
) -> ReportRead:
    """Create or update the draft; the caller must hold the study's claim."""
    study = study_service.get_visible(session, scope=scope, principal=principal, study_id=study_id)
    report = service.save_draft(
        session,
        principal=principal,
        study=study,
        findings=body.findings,
        impression=body.impression,
        language=body.language,
    )
    return _read(report)


@router.post("/sign", response_model=ReportRead)
def sign(session: DbSession, scope: Scope, principal: Reader, study_id: uuid.UUID) -> ReportRead:
    """Sign the draft; the PDF is rendered by a worker right after."""
    study = study_service.get_visible(session, scope=scope, principal=principal, study_id=study_id)
    return _read(service.sign(session, principal=principal, study=study))
