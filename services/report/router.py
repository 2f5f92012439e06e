"""Report endpoints: write a draft of a claimed study, sign it, read it."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Body, Depends, Header
from fastapi.responses import JSONResponse, Response
from sqlalchemy.orm import Session

from services.auth.dependencies import Scope, require_roles
from services.auth.principal import Principal, TenantScope
from services.domain.roles import CLINICAL_ROLES, READER_ROLES
from services.kit.clock import utc_now
from services.kit.http import DbSession, Settings
from services.kit.settings import CoreSettings
from services.models import Report
from services.report import service
from services.report.exceptions import DraftRejected, ReportNotFound
from services.report.interop import hl7_charset
from services.report.interop.export import ReportExport, build_export
from services.report.interop.fhir_report import build_diagnostic_report
from services.report.interop.hl7_charset import DEFAULT_CHARSET, Hl7Charset
from services.report.interop.hl7_oru import build_oru
from services.report.schemas import ReportDraft, ReportRead, SignRequest, VerificationRead
from services.report.service import verify_signed_report
from services.report.storage import load_pdf
from services.study import service as study_service

router = APIRouter(prefix="/api/v1/studies/{study_id}/report", tags=["reports"])
Reader = Annotated[Principal, Depends(require_roles(*READER_ROLES))]
Clinical = Annotated[Principal, Depends(require_roles(*CLINICAL_ROLES))]


def _read(report: Report) -> ReportRead:
    return ReportRead.of(report)


def _etag(report: Report) -> str:
    return f'"{report.revision}"'


def _if_match(header: str | None) -> int | None:
    if header is None:
        return None
    tag = header.strip().removeprefix("W/").strip('"')
    if not tag.isdigit():
        raise DraftRejected('If-Match must carry the draft\'s ETag, e.g. If-Match: "3".')
    return int(tag)


@router.get("", response_model=ReportRead)
def get_report(
    session: DbSession, scope: Scope, principal: Clinical, study_id: uuid.UUID
) -> ReportRead:
    """Return the newest report version; clinics see signed versions only."""
    study = study_service.get_visible(session, scope=scope, principal=principal, study_id=study_id)
    is_reader = principal.has_any(READER_ROLES)
    report = (service.latest if is_reader else service.latest_signed)(session, study_id=study.id)
    if report is None or (report.status == "DRAFT" and not is_reader):
        raise ReportNotFound("This study has no signed report yet.")
    return _read(report)


@router.get("/draft", response_model=ReportRead)
def get_draft(
    session: DbSession, scope: Scope, principal: Reader, study_id: uuid.UUID, response: Response
) -> ReportRead:
    """Return the open draft with its ETag (send it back as If-Match when saving)."""
    study = study_service.get_visible(session, scope=scope, principal=principal, study_id=study_id)
    report = service.latest(session, study_id=study.id)
    if report is None or report.status != "DRAFT":
        raise ReportNotFound("This study has no open draft.")
    response.headers["ETag"] = _etag(report)
    return _read(report)


@router.put("/draft", response_model=ReportRead)
def save_draft(  # noqa: PLR0913, PLR0917 - FastAPI parameters
    session: DbSession,
    scope: Scope,
    principal: Reader,
    study_id: uuid.UUID,
    body: ReportDraft,
    response: Response,
    if_match: Annotated[str | None, Header()] = None,
) -> ReportRead:
    """Autosave the draft (412 if it changed since the revision in If-Match or the body)."""
    study = study_service.get_visible(session, scope=scope, principal=principal, study_id=study_id)
    expected = _if_match(if_match)
    report = service.save_draft(
        session,
        principal=principal,
        study=study,
        findings=body.findings,
        impression=body.impression,
        language=body.language,
        values=body.values,
        expected_revision=expected if expected is not None else body.revision,
    )
    response.headers["ETag"] = _etag(report)
    return _read(report)


@router.post("/sign", response_model=ReportRead)
def sign(
    session: DbSession,
    settings: Settings,
    scope: Scope,
    principal: Reader,
    study_id: uuid.UUID,
    body: Annotated[SignRequest | None, Body()] = None,
) -> ReportRead:
    """Sign the draft; final at once, or PRELIMINARY until a senior countersigns (双签)."""
    study = study_service.get_visible(session, scope=scope, principal=principal, study_id=study_id)
    reason = body.emergency_reason if body else None
    return _read(
        service.sign(session, settings, principal=principal, study=study, emergency_reason=reason)
    )


@router.get("/verification", response_model=VerificationRead)
def verification(
    session: DbSession, settings: Settings, scope: Scope, principal: Clinical, study_id: uuid.UUID
) -> VerificationRead:
    """Verify the signed report: content hash and signature, PDF hash and PAdES signature."""
    study = study_service.get_visible(session, scope=scope, principal=principal, study_id=study_id)
    report = service.latest_signed(session, study_id=study.id)
    if report is None:
        raise ReportNotFound("This study has no signed report to verify.")
    result = verify_signed_report(session, settings, report=report)
    return VerificationRead.from_result(result)


def _signed_export(
    session: Session,
    settings: CoreSettings,
    scope: TenantScope,
    principal: Principal,
    study_id: uuid.UUID,
) -> ReportExport:
    study = study_service.get_visible(session, scope=scope, principal=principal, study_id=study_id)
    report = service.latest_signed(session, study_id=study.id)
    if report is None:
        raise ReportNotFound("This study has no signed report yet.")
    pdf = load_pdf(settings, report) if report.pdf_key else None
    return build_export(session, report, pdf)


@router.get("/hl7", response_class=Response)
def hl7_message(
    session: DbSession,
    settings: Settings,
    scope: Scope,
    principal: Clinical,
    study_id: uuid.UUID,
    charset: Hl7Charset = DEFAULT_CHARSET,
) -> Response:
    """Return the signed report as an HL7 v2.5.1 ORU^R01 message (ER7, UTF-8 or GB 18030)."""
    export = _signed_export(session, settings, scope, principal, study_id)
    message = build_oru(export, control_id=uuid.uuid4().hex[:20], now=utc_now(), charset=charset)
    media_type = f"x-application/hl7-v2+er7; charset={hl7_charset.mime_charset(charset)}"
    return Response(hl7_charset.encode(message, charset), media_type=media_type)


@router.get("/fhir", response_class=JSONResponse)
def fhir_report(
    session: DbSession, settings: Settings, scope: Scope, principal: Clinical, study_id: uuid.UUID
) -> JSONResponse:
    """Return the signed report as a FHIR R4 DiagnosticReport."""
    export = _signed_export(session, settings, scope, principal, study_id)
    return JSONResponse(build_diagnostic_report(export), media_type="application/fhir+json")
