"""Signing keys: one consortium CA per tenant and one document-signing identity per radiologist."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from services.kit.clock import utc_now
from services.kit.db import Base
from services.kit.ids import new_id
from services.models._types import UtcDateTime


class SigningAuthority(Base):
    """The consortium's CA (created locally, or imported); its key is stored encrypted."""

    __tablename__ = "signing_authority"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenant.id"), unique=True)
    certificate_pem: Mapped[bytes] = mapped_column(LargeBinary)
    key_pem: Mapped[bytes | None] = mapped_column(LargeBinary)  # None when imported without key
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)


class SigningIdentity(Base):
    """A radiologist's certificate and encrypted key (or a remote signer's certificate only)."""

    __tablename__ = "signing_identity"
    __table_args__ = (UniqueConstraint("user_id", "fingerprint"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenant.id"), index=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user_account.id"), index=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    certificate_pem: Mapped[bytes] = mapped_column(LargeBinary)
    key_pem: Mapped[bytes | None] = mapped_column(LargeBinary)
    # The CSC credential of a remote signer (key_pem is None then): the CA's service holds the key.
    credential_id: Mapped[str | None] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
