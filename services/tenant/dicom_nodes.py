"""DICOM nodes as consortium administrators manage them: add, change, disable, list.

The gateway's DICOM SCP looks each calling AE title up in this table at every association, so
a change here takes effect with the next association; nothing else needs syncing.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.audit import service as audit
from services.auth.principal import Principal
from services.kit.errors import NotFound
from services.models import DicomNode, Organization
from services.tenant import service as tenant_service


class DicomNodeNotFound(NotFound):
    """No such node in the caller's consortium."""

    code = "dicom_node_not_found"


def _tenant(principal: Principal) -> uuid.UUID:
    assert principal.tenant_id is not None  # consortium admins always belong to one
    return principal.tenant_id


def listed(session: Session, principal: Principal) -> list[DicomNode]:
    """Return the consortium's nodes, enabled or not, by AE title."""
    query = select(DicomNode).where(DicomNode.tenant_id == _tenant(principal))
    return list(session.scalars(query.order_by(DicomNode.ae_title)))


def _organization(session: Session, principal: Principal, org_id: uuid.UUID) -> Organization:
    org = session.get(Organization, org_id)
    if org is None or org.tenant_id != _tenant(principal):
        raise NotFound("No such organization in your consortium.")
    return org


def get(session: Session, principal: Principal, node_id: uuid.UUID) -> DicomNode:
    """Return a node of the caller's consortium."""
    node = session.get(DicomNode, node_id)
    if node is None or node.tenant_id != _tenant(principal):
        raise audit.refused(
            session,
            principal=principal,
            action="dicom_node.read",
            object_type="dicom_node",
            object_id=node_id,
            error=DicomNodeNotFound("No such DICOM node in your consortium."),
        )
    return node


def add(  # noqa: PLR0913 - the facts of one node
    session: Session,
    principal: Principal,
    *,
    organization_id: uuid.UUID,
    ae_title: str,
    host: str,
    port: int,
    description: str,
    character_set_override: str,
) -> DicomNode:
    """Register a calling AE title for one of the consortium's organizations."""
    org = _organization(session, principal, organization_id)
    node = tenant_service.register_dicom_node(
        session, organization=org, ae_title=ae_title, host=host, port=port
    )
    node.description, node.character_set_override = description, character_set_override
    _audit(session, principal, node, "dicom_node.created", {"ae_title": node.ae_title})
    return node


def change(
    session: Session, principal: Principal, node_id: uuid.UUID, changes: dict[str, Any]
) -> DicomNode:
    """Apply the given field changes (host, port, description, enabled, character set)."""
    node = get(session, principal, node_id)
    for name, value in changes.items():
        setattr(node, name, value)
    _audit(session, principal, node, "dicom_node.changed", {"fields": sorted(changes)})
    return node


def _audit(
    session: Session, principal: Principal, node: DicomNode, action: str, detail: dict[str, Any]
) -> None:
    audit.record(
        session,
        actor=principal.actor,
        action=action,
        object_type="dicom_node",
        object_id=node.id,
        tenant_id=node.tenant_id,
        detail=detail,
    )
