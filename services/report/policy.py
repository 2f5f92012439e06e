"""Each consortium's sign-off rule (双签), kept in the tenant's settings."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from services.audit import service as audit
from services.auth.principal import Principal
from services.domain.report_lifecycle import SignaturePolicy
from services.models import Tenant

SETTINGS_KEY = "report_signoff"


def policy_of(session: Session, tenant_id: uuid.UUID) -> SignaturePolicy:
    """Return the tenant's sign-off rule (single signature unless the consortium asks)."""
    tenant = session.get(Tenant, tenant_id)
    raw = (tenant.settings or {}).get(SETTINGS_KEY, {}) if tenant else {}
    return SignaturePolicy(
        double_signature=bool(raw.get("double_signature", False)),
        emergency_single_signature=bool(raw.get("emergency_single_signature", True)),
    )


def set_policy(session: Session, *, principal: Principal, policy: SignaturePolicy) -> None:
    """Store the caller's consortium's sign-off rule (audited)."""
    assert principal.tenant_id is not None
    tenant = session.get(Tenant, principal.tenant_id)
    assert tenant is not None
    # A new dict, so the JSON column is seen as changed.
    tenant.settings = {
        **(tenant.settings or {}),
        SETTINGS_KEY: {
            "double_signature": policy.double_signature,
            "emergency_single_signature": policy.emergency_single_signature,
        },
    }
    audit.record(
        session,
        actor=principal.actor,
        action="report_policy.changed",
        object_type="tenant",
        object_id=tenant.id,
        tenant_id=tenant.id,
        detail=tenant.settings[SETTINGS_KEY],
    )
    session.flush()
