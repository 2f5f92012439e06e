"""Signing setup I/O: mode, the consortium CA certificate, radiologists' identities."""

from __future__ import annotations

import base64
import binascii
import uuid
from typing import Literal

from pydantic import BaseModel, Field, field_validator

from services.report.signing.admin import IdentityInfo


class ModeBody(BaseModel):
    """Keys held by RadBridge ("local", the default) or the CA's remote signing service."""

    mode: Literal["local", "remote"]


class AuthorityBody(BaseModel):
    """The consortium CA certificate, PEM (its key stays with the CA)."""

    certificate_pem: str = Field(min_length=1, max_length=64_000)


class IdentityImport(BaseModel):
    """A radiologist's certificate and key: PKCS#12 (base64) or a PEM certificate and key."""

    user_id: uuid.UUID
    pkcs12_base64: str | None = Field(default=None, max_length=200_000)
    certificate_pem: str | None = Field(default=None, max_length=64_000)
    key_pem: str | None = Field(default=None, max_length=64_000)
    password: str | None = Field(default=None, max_length=200)

    @field_validator("pkcs12_base64")
    @classmethod
    def _base64(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                base64.b64decode(value, validate=True)
            except binascii.Error as exc:
                raise ValueError("pkcs12_base64 is not base64") from exc
        return value


class RemoteIdentity(BaseModel):
    """Bind a radiologist to a credential of the CA's CSC signing service."""

    user_id: uuid.UUID
    credential_id: str = Field(min_length=1, max_length=255)


class IdentityRead(BaseModel):
    """One active signing identity (the key is never shown)."""

    id: uuid.UUID
    user_id: uuid.UUID
    subject: str
    fingerprint: str
    remote: bool
    not_valid_after: str

    @classmethod
    def of(cls, info: IdentityInfo) -> IdentityRead:
        """Build from the service's view."""
        return cls(
            id=info.id,
            user_id=info.user_id,
            subject=info.subject,
            fingerprint=info.fingerprint,
            remote=info.remote,
            not_valid_after=info.not_valid_after,
        )


class AuthorityRead(BaseModel):
    """The consortium CA: who it is and whether RadBridge holds its key."""

    subject: str
    fingerprint: str
    has_key: bool


class SigningSetupRead(BaseModel):
    """The consortium's signing setup."""

    mode: Literal["local", "remote"]
    authority: AuthorityRead | None
    identities: list[IdentityRead]
