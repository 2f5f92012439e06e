"""The model registry's use cases: register a manifest, change a version's state, subscribe.

States: ``registered`` (known, not routed) -> ``enabled`` | ``shadow`` <-> ``disabled``. Only a
version whose check inference passed may be enabled or shadowed; the inference side
(``radbridge models add``) runs that check and records it with ``record_check``.
"""

from __future__ import annotations

import hashlib
import json
import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.audit import service as audit
from services.kit.clock import utc_now
from services.kit.errors import InvalidInput, NotFound
from services.model_registry import repository
from services.model_registry.exceptions import (
    IllegalModelState,
    ManifestChanged,
    ModelVersionNotFound,
    SubscriptionNotFound,
)
from services.model_registry.manifest import AI_NOTICE, ModelManifest, parse_manifest
from services.models import ModelSubscription, ModelVersion, Tenant

STATES = ("registered", "enabled", "shadow", "disabled")
ACTOR = "cli:models"


def manifest_sha256(manifest: ModelManifest) -> str:
    """Return a stable hash of the manifest's content (key order and formatting ignored)."""
    canonical = json.dumps(manifest.model_dump(mode="json", by_alias=True), sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def register(
    session: Session, *, manifest: ModelManifest, repository_uri: str, actor: str = ACTOR
) -> ModelVersion:
    """Register a version, or refresh one whose manifest is unchanged; idempotent.

    A version that has been enabled or shadowed keeps its manifest for good: its findings
    were produced under it. Changing it means a new version number.
    """
    digest = manifest_sha256(manifest)
    row = repository.get_version(session, manifest.name, manifest.version)
    if row is not None and row.manifest_sha256 != digest and row.checked_at is not None:
        raise ManifestChanged(
            f"{manifest.name} v{manifest.version} is already registered with another manifest "
            "and has run; give the changed model a new version number."
        )
    if row is None:
        row = ModelVersion(name=manifest.name, version=manifest.version, state="registered")
        session.add(row)
    row.vendor = manifest.vendor
    row.regulatory_status = manifest.regulatory.status.value
    row.nmpa_registration = manifest.regulatory.nmpa_registration
    row.manifest = manifest.model_dump(mode="json", by_alias=True)
    row.manifest_sha256 = digest
    row.repository = repository_uri
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="model.registered",
        object_type="model_version",
        object_id=row.id,
        detail={"name": row.name, "version": row.version, "sha256": digest},
    )
    return row


def get(session: Session, *, name: str, version: str) -> ModelVersion:
    """Return a registered version or raise ModelVersionNotFound."""
    row = repository.get_version(session, name, version)
    if row is None:
        raise ModelVersionNotFound(
            f"No model {name} version {version} is registered; run `radbridge models list`."
        )
    return row


def manifest_of(row: ModelVersion) -> ModelManifest:
    """Return the validated manifest stored with a version."""
    return parse_manifest(row.manifest, source=f"{row.name} v{row.version}")


def record_check(
    session: Session, *, name: str, version: str, elapsed_ms: int | None, error: str | None
) -> ModelVersion:
    """Record the outcome of the check inference run on a version."""
    row = get(session, name=name, version=version)
    row.check_error = error[:2000] if error else None
    row.check_ms = elapsed_ms
    row.checked_at = utc_now() if error is None else row.checked_at
    return row


def set_state(
    session: Session, *, name: str, version: str, state: str, actor: str = ACTOR
) -> ModelVersion:
    """Move a version to ``state``; enabling or shadowing needs a passed check inference."""
    if state not in STATES:
        raise InvalidInput(f"Unknown state {state!r}; use one of {', '.join(STATES)}.")
    row = get(session, name=name, version=version)
    if state in ("enabled", "shadow") and (row.checked_at is None or row.check_error):
        raise IllegalModelState(
            f"{name} v{version} has not passed its check inference "
            f"({row.check_error or 'never run'}); run `radbridge models add` again first."
        )
    previous, row.state = row.state, state
    audit.record(
        session,
        actor=actor,
        action="model.state",
        object_type="model_version",
        object_id=row.id,
        detail={"name": name, "version": version, "from": previous, "to": state},
    )
    return row


def list_versions(session: Session) -> list[ModelVersion]:
    """Return every registered version."""
    return repository.all_versions(session)


def notice(row: ModelVersion | None) -> dict[str, str]:
    """Return the wording shown next to a version's results (the plain notice if unknown)."""
    if row is None:
        return dict(AI_NOTICE)
    return manifest_of(row).regulatory.notice


def notices(session: Session, keys: set[tuple[str, str]]) -> dict[tuple[str, str], dict[str, str]]:
    """Return the notice for each ``(name, version)``."""
    return {key: notice(repository.get_version(session, *key)) for key in keys}


def subscribe(
    session: Session, *, tenant_id: uuid.UUID, model_name: str, actor: str = ACTOR
) -> ModelSubscription:
    """Subscribe a tenant to a model name (idempotent); the name must be registered."""
    if not any(v.name == model_name for v in repository.all_versions(session)):
        raise ModelVersionNotFound(
            f"No model named {model_name!r} is registered; run `radbridge models list`."
        )
    row = repository.subscription(session, tenant_id, model_name=model_name)
    if row is None:
        row = ModelSubscription(tenant_id=tenant_id, model_name=model_name)
        session.add(row)
        session.flush()
        audit.record(
            session,
            actor=actor,
            action="model.subscribed",
            object_type="model_subscription",
            object_id=row.id,
            tenant_id=tenant_id,
            detail={"model": model_name},
        )
    return row


def unsubscribe(
    session: Session,
    *,
    tenant_id: uuid.UUID,
    model_name: str | None = None,
    subscription_id: uuid.UUID | None = None,
    actor: str = ACTOR,
) -> None:
    """End a tenant's subscription; another tenant's is not found (404)."""
    row = repository.subscription(
        session, tenant_id, model_name=model_name, subscription_id=subscription_id
    )
    if row is None:
        raise SubscriptionNotFound("No such subscription in your consortium.")
    repository.delete_subscription(session, row)
    audit.record(
        session,
        actor=actor,
        action="model.unsubscribed",
        object_type="model_subscription",
        object_id=row.id,
        tenant_id=tenant_id,
        detail={"model": row.model_name},
    )


def subscriptions(session: Session, *, tenant_id: uuid.UUID) -> list[ModelSubscription]:
    """Return a tenant's subscriptions."""
    return repository.subscriptions_of(session, tenant_id)


def tenant_id_for(session: Session, slug: str) -> uuid.UUID:
    """Return the id of the tenant with ``slug`` or raise NotFound naming it."""
    tenant_id = session.scalars(select(Tenant.id).where(Tenant.slug == slug)).first()
    if tenant_id is None:
        raise NotFound(f"No consortium with slug {slug!r}; check the spelling.")
    return tenant_id
