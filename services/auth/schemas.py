"""Token endpoint and identity responses."""

from __future__ import annotations

import uuid

from pydantic import BaseModel


class TokenResponse(BaseModel):
    """RFC 6749 section 5.1 access token response."""

    access_token: str
    token_type: str = "Bearer"
    expires_in: int


class MeRead(BaseModel):
    """The caller as the platform sees them."""

    subject: str
    kind: str
    display_name: str
    tenant_id: uuid.UUID | None
    organization_id: uuid.UUID | None
    roles: list[str]
