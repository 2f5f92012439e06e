"""Report templates as data: the shipped library plus each consortium's own, versioned."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.orm import Session

from services.audit import service as audit
from services.auth.principal import Principal
from services.domain.report_template import TemplateDefinition, TemplateInvalid
from services.models import ReportTemplate
from services.report import repository
from services.report.exceptions import TemplateNotFound, TemplateRejected
from services.report.mrrt import render_mrrt
from services.report.template_library import check, load_library


def definition(row: ReportTemplate) -> TemplateDefinition:
    """Return the checked definition of a stored template."""
    return check(row.definition)


def as_mrrt(row: ReportTemplate) -> str:
    """Return a stored template as IHE MRRT XHTML."""
    return render_mrrt(definition(row), identifier=f"urn:uuid:{row.id}", version=row.version)


def list_visible(
    session: Session, *, tenant_id: uuid.UUID, language: str | None, modality: str | None
) -> list[ReportTemplate]:
    """Return the newest version of each template the tenant may write from."""
    newest: dict[tuple[uuid.UUID | None, str, str], ReportTemplate] = {}
    for row in repository.visible_templates(session, tenant_id):
        newest.setdefault((row.tenant_id, row.key, row.language), row)
    rows = list(newest.values())
    if language:
        rows = [r for r in rows if r.language == language]
    if modality:
        rows = [r for r in rows if modality in r.definition.get("exam", {}).get("modalities", [])]
    return sorted(rows, key=lambda r: (r.key, r.language, r.tenant_id is None))


def get_visible(
    session: Session, *, tenant_id: uuid.UUID, template_id: uuid.UUID
) -> ReportTemplate:
    """Return a library template or one of the tenant's, else raise TemplateNotFound."""
    row = repository.template(session, template_id)
    if row is None or row.tenant_id not in (None, tenant_id):
        raise TemplateNotFound("No such report template in your consortium.")
    return row


def create(session: Session, *, principal: Principal, data: dict[str, Any]) -> ReportTemplate:
    """Check and store a consortium template as the next version of its key and language."""
    assert principal.tenant_id is not None
    try:
        checked = check(data)
    except TemplateInvalid as exc:
        raise TemplateRejected("The template was not saved: " + "; ".join(exc.problems)) from exc
    version = (
        repository.last_template_version(
            session, principal.tenant_id, checked.key, checked.language
        )
        + 1
    )
    row = ReportTemplate(
        tenant_id=principal.tenant_id,
        key=checked.key,
        language=checked.language,
        version=version,
        title=checked.title,
        definition={**data, "version": version},
        active=True,
        created_by_id=principal.user_id,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=principal.actor,
        action="report_template.created",
        object_type="report_template",
        object_id=row.id,
        tenant_id=principal.tenant_id,
        detail={"key": row.key, "language": row.language, "version": version},
    )
    return row


def sync_library(session: Session) -> int:
    """Add shipped library templates missing from the database; return how many were added."""
    have = repository.library_versions(session)
    added = 0
    for item in load_library():
        if (item.key, item.language, item.version) not in have:
            session.add(
                ReportTemplate(
                    tenant_id=None,
                    key=item.key,
                    language=item.language,
                    version=item.version,
                    title=item.title,
                    definition=item.definition,
                    active=True,
                )
            )
            added += 1
    session.flush()
    return added
