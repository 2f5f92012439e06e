"""Who is calling, and which part of which tenant they may see."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from services.domain.roles import ADMIN_ROLES, CLINIC_ROLES, READER_ROLES, Role


@dataclass(frozen=True)
class Principal:
    """An authenticated person or machine, with roles re-read from the database."""

    subject: str
    kind: str  # "user" | "client"
    user_id: uuid.UUID | None
    tenant_id: uuid.UUID | None
    organization_id: uuid.UUID | None
    roles: frozenset[str]
    display_name: str

    def has_any(self, roles: frozenset[Role] | set[Role]) -> bool:
        """Return whether the principal holds at least one of ``roles``."""
        return bool(self.roles & {r.value for r in roles})

    @property
    def actor(self) -> str:
        """Return the identity written into audit events."""
        return f"{self.kind}:{self.subject}"


@dataclass(frozen=True)
class TenantScope:
    """The rows a principal may see: one tenant, and within it some organizations (or all)."""

    tenant_id: uuid.UUID
    organization_ids: frozenset[uuid.UUID] | None  # None: every organization of the tenant

    def allows(self, tenant_id: uuid.UUID, organization_id: uuid.UUID) -> bool:
        """Return whether a row owned by ``organization_id`` of ``tenant_id`` is visible."""
        if tenant_id != self.tenant_id:
            return False
        return self.organization_ids is None or organization_id in self.organization_ids


def scope_kind(principal: Principal) -> str:
    """Return which visibility rule applies: admin, reader or clinic."""
    if principal.has_any(ADMIN_ROLES):
        return "admin"
    if principal.has_any(READER_ROLES):
        return "reader"
    if principal.has_any(CLINIC_ROLES):
        return "clinic"
    return "none"
