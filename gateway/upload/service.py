"""Upload use cases behind the tus endpoints: create, find one's own, report batches."""

from __future__ import annotations

import hashlib
import time
import uuid

from sqlalchemy.orm import Session

from gateway.upload.ingest import batch_key, declared_of
from gateway.upload.protocol import batch_of
from gateway.upload.schemas import BatchRead, UploadRead
from gateway.upload.store import UploadInfo, UploadStore
from services.audit import service as audit
from services.auth.principal import Principal
from services.kit.errors import Conflict, NotFound
from services.kit.settings import get_settings
from services.study import upload_batch

_NOT_FOUND = "No such upload (it may have expired, or belong to another organization)."


def _org(principal: Principal) -> tuple[uuid.UUID, uuid.UUID]:
    if principal.tenant_id is None or principal.organization_id is None:
        raise NotFound(_NOT_FOUND)
    return principal.tenant_id, principal.organization_id


_SWEEP_EVERY_S = 3600.0
_last_sweep = [0.0]


def _sweep_now_and_then(store: UploadStore) -> None:
    """Drop idle uploads at most hourly, from the creation path (the gateway has no timer)."""
    if time.monotonic() - _last_sweep[0] < _SWEEP_EVERY_S:
        return
    _last_sweep[0] = time.monotonic()
    store.sweep(get_settings().gateway.upload_batch_ttl_h * 3600)


def _idempotent_id(organization_id: uuid.UUID, metadata: dict[str, str], length: int) -> str | None:
    """Return a stable upload id for a fingerprinted file of a declared batch, else None."""
    fingerprint, batch = metadata.get("fingerprint", ""), metadata.get("batch", "")
    if not fingerprint or not batch:
        return None
    seed = f"{organization_id}|{batch}|{fingerprint}|{length}".encode()
    return hashlib.sha256(seed).hexdigest()[:32]


def create(
    session: Session,
    store: UploadStore,
    *,
    principal: Principal,
    length: int,
    metadata: dict[str, str],
) -> UploadInfo:
    """Open the upload's batch (declared or its own) and start an empty upload."""
    tenant_id, organization_id = _org(principal)
    declared_of(metadata)  # an unknown urgency / patient type is refused (422) up front
    _sweep_now_and_then(store)
    declared = batch_of(metadata)
    if declared is not None:  # refuse a finished or re-declared batch before storing anything
        upload_batch.open_batch(
            session,
            tenant_id=tenant_id,
            organization_id=organization_id,
            key=declared.key,
            expected_files=declared.expected_files,
            created_by=principal.actor,
        )
    info = store.create(
        tenant_id=tenant_id,
        organization_id=organization_id,
        created_by=principal.actor,
        length=length,
        metadata=metadata,
        upload_id=_idempotent_id(organization_id, metadata, length),
    )
    if declared is None:
        upload_batch.open_batch(
            session,
            tenant_id=tenant_id,
            organization_id=organization_id,
            key=batch_key(info),
            expected_files=1,
            created_by=principal.actor,
        )
    return info


def owned(
    session: Session, store: UploadStore, *, principal: Principal, upload_id: str
) -> UploadInfo:
    """Return the caller's organization's upload, or 404 (audited when it belongs elsewhere)."""
    tenant_id, organization_id = _org(principal)
    info = store.load(upload_id)
    if info is None:
        raise NotFound(_NOT_FOUND)
    if info.tenant_id != str(tenant_id) or info.organization_id != str(organization_id):
        audit.record_denied(
            session,
            actor=principal.actor,
            action="upload.access",
            object_type="upload",
            object_id=upload_id,
            tenant_id=tenant_id,
        )
        raise NotFound(_NOT_FOUND)
    return info


def read(info: UploadInfo) -> UploadRead:
    """Return the JSON view of an upload."""
    return UploadRead(
        id=info.id,
        length=info.length,
        offset=info.offset,
        state=info.state,
        batch=batch_key(info),
        outcome=info.outcome,
    )


def batch_status(session: Session, *, principal: Principal, key: str) -> BatchRead:
    """Return the caller's organization's batch, or 404."""
    _, organization_id = _org(principal)
    batch = upload_batch.get(session, organization_id=organization_id, key=key)
    if batch is None:
        raise NotFound("No such upload batch for your organization.")
    return BatchRead(
        batch=batch.key,
        status=batch.status,
        expected_files=batch.expected_files,
        received_files=upload_batch.received_files(session, batch.id),
        studies=upload_batch.studies_of(session, batch.id),
    )


def finalize(session: Session, *, principal: Principal, key: str) -> BatchRead:
    """Confirm the batch is whole (it finalizes itself when its last file is stored), or 409."""
    status = batch_status(session, principal=principal, key=key)
    if status.status != upload_batch.FINALIZED:
        raise Conflict(
            f"{status.received_files} of {status.expected_files} files of batch {key!r} are "
            "stored; upload the rest (re-run the same upload to resume), then finalize again.",
            received_files=status.received_files,
            expected_files=status.expected_files,
        )
    return status
