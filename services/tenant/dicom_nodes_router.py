"""DICOM node administration (consortium administrators): the AE titles allowed to send."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, status
from pydantic import BaseModel, ConfigDict, Field

from services.auth.dependencies import require_roles
from services.auth.principal import Principal
from services.domain.roles import ADMIN_ROLES
from services.kit.http import DbSession
from services.tenant import dicom_nodes

router = APIRouter(prefix="/api/v1/dicom-nodes", tags=["dicom nodes"])
Admin = Annotated[Principal, Depends(require_roles(*ADMIN_ROLES))]
AeTitle = Annotated[
    str, Field(min_length=1, max_length=16, pattern=r"^[ -\[\]-~]*[!-\[\]-~][ -\[\]-~]*$")
]
Host = Annotated[str, Field(min_length=1, max_length=253, pattern=r"^[A-Za-z0-9.:\-]+$")]
Port = Annotated[int, Field(ge=1, le=65535)]
Override = Literal["", "GB18030", "GBK", "ISO_IR 192"]  # services.contracts.ingest


class NodeCreate(BaseModel):
    """A modality or PACS of one organization."""

    model_config = ConfigDict(extra="forbid")

    organization_id: uuid.UUID
    ae_title: AeTitle
    host: Host
    port: Port = 104
    description: str = Field(default="", max_length=200)
    character_set_override: Override = ""


class NodeChange(BaseModel):
    """Fields that may change; the AE title and organization are fixed (add a new node)."""

    model_config = ConfigDict(extra="forbid")

    host: Host | None = None
    port: Port | None = None
    description: str | None = Field(default=None, max_length=200)
    enabled: bool | None = None
    character_set_override: Override | None = None


class NodeRead(BaseModel):
    """A registered node."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    organization_id: uuid.UUID
    ae_title: str
    host: str
    port: int
    description: str
    enabled: bool
    character_set_override: str
    created_at: datetime


@router.get("", response_model=list[NodeRead])
def list_nodes(session: DbSession, principal: Admin) -> list[NodeRead]:
    """List the consortium's DICOM nodes."""
    return [NodeRead.model_validate(n) for n in dicom_nodes.listed(session, principal)]


@router.post("", response_model=NodeRead, status_code=status.HTTP_201_CREATED)
def add_node(session: DbSession, principal: Admin, body: NodeCreate) -> NodeRead:
    """Register a calling AE title; the gateway accepts it from the next association on."""
    node = dicom_nodes.add(session, principal, **body.model_dump())
    return NodeRead.model_validate(node)


@router.patch("/{node_id}", response_model=NodeRead)
def change_node(
    session: DbSession, principal: Admin, node_id: uuid.UUID, body: NodeChange
) -> NodeRead:
    """Change a node; ``enabled: false`` refuses its next association."""
    changes = body.model_dump(exclude_unset=True)
    return NodeRead.model_validate(dicom_nodes.change(session, principal, node_id, changes))
