"""Report template endpoints: readers list and read them; consortium admins add versions."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from services.auth.dependencies import require_roles
from services.auth.principal import Principal
from services.domain.roles import ADMIN_ROLES, READER_ROLES
from services.kit.http import DbSession
from services.report import template_service
from services.report.template_schemas import TemplateCreate, TemplateRead, TemplateSummary

router = APIRouter(prefix="/api/v1/report-templates", tags=["report templates"])
Viewer = Annotated[Principal, Depends(require_roles(*READER_ROLES, *ADMIN_ROLES))]
Admin = Annotated[Principal, Depends(require_roles(*ADMIN_ROLES))]


def _tenant(principal: Principal) -> uuid.UUID:
    assert principal.tenant_id is not None  # the roles above exist only inside a tenant
    return principal.tenant_id


@router.get("", response_model=list[TemplateSummary])
def list_templates(
    session: DbSession,
    principal: Viewer,
    language: Annotated[str | None, Query(pattern="^(zh-CN|en)$")] = None,
    modality: Annotated[str | None, Query(max_length=16)] = None,
) -> list[TemplateSummary]:
    """Return the newest version of each template: the library and the consortium's own."""
    rows = template_service.list_visible(
        session, tenant_id=_tenant(principal), language=language, modality=modality
    )
    return [TemplateSummary.of(r) for r in rows]


@router.get("/{template_id}", response_model=TemplateRead)
def get_template(session: DbSession, principal: Viewer, template_id: uuid.UUID) -> TemplateRead:
    """Return one template with its definition (404 for another consortium's)."""
    row = template_service.get_visible(
        session, tenant_id=_tenant(principal), template_id=template_id
    )
    return TemplateRead.full(row)


@router.get("/{template_id}/mrrt", response_class=Response)
def get_mrrt(session: DbSession, principal: Viewer, template_id: uuid.UUID) -> Response:
    """Return one template as IHE MRRT XHTML (the RSNA RadReport exchange format)."""
    row = template_service.get_visible(
        session, tenant_id=_tenant(principal), template_id=template_id
    )
    return Response(template_service.as_mrrt(row), media_type="application/xhtml+xml")


@router.post("", response_model=TemplateRead, status_code=201)
def create_template(session: DbSession, principal: Admin, body: TemplateCreate) -> TemplateRead:
    """Check and store a template as the next version of its key (422 naming every problem)."""
    row = template_service.create(session, principal=principal, data=body.model_dump())
    return TemplateRead.full(row)
