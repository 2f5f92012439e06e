"""STOW-RS through the gateway: check each instance, store the good ones, quarantine the rest.

The uploader's organization owns what it stores; nothing reaches Orthanc unchecked.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.orm import Session

from gateway.dicomweb.dicom_json import (
    CANNOT_UNDERSTAND,
    OUT_OF_RESOURCES,
    PROCESSING_FAILURE,
    REFUSED_NOT_AUTHORIZED,
    FailedRef,
    StoredRef,
)
from gateway.ingest.validation import check_instance
from gateway.orthanc.errors import OrthancRejected, OrthancUnavailable
from gateway.orthanc.port import OrthancPort
from services.auth.principal import Principal
from services.kit.errors import Conflict
from services.kit.storage import ObjectStore
from services.quarantine import service as quarantine
from services.study import origin as study_origin


@dataclass
class StowOutcome:
    """What happened to every part of a STOW-RS request."""

    stored: list[StoredRef]
    failed: list[FailedRef]

    @property
    def status_code(self) -> int:
        """Return 200 (all stored), 202 (some failed) or 409 (none stored), per PS3.18."""
        if not self.failed:
            return 200
        return 202 if self.stored else 409


def _quarantine(
    session: Session, store: ObjectStore, principal: Principal, data: bytes, code: str, reason: str
) -> None:
    assert principal.tenant_id is not None
    key = f"{principal.tenant_id}/quarantine/{uuid.uuid4().hex}.dcm"
    store.put(key, data, "application/dicom")
    quarantine.hold(
        session,
        source="stow",
        reason_code=code,
        reason=reason,
        tenant_id=principal.tenant_id,
        organization_id=principal.organization_id,
        object_key=key,
    )


def store_instances(
    session: Session,
    *,
    orthanc: OrthancPort,
    store: ObjectStore,
    principal: Principal,
    parts: list[bytes],
    base_url: str,
) -> StowOutcome:
    """Validate and store each part for the principal's organization."""
    assert principal.tenant_id is not None
    assert principal.organization_id is not None
    outcome = StowOutcome(stored=[], failed=[])
    for data in parts:
        verdict = check_instance(data)
        if not verdict.ok:
            _quarantine(session, store, principal, data, verdict.reason_code, verdict.reason)
            outcome.failed.append(
                FailedRef(
                    verdict.sop_class_uid,
                    verdict.sop_instance_uid,
                    CANNOT_UNDERSTAND,
                    verdict.reason,
                )
            )
            continue
        try:
            result = orthanc.upload_instance(data)
            study_origin.note_upload(
                session,
                orthanc_study_id=result.parent_study,
                tenant_id=principal.tenant_id,
                organization_id=principal.organization_id,
                source="stow",
                uploaded_by=principal.actor,
            )
        except Conflict as exc:
            reason = (REFUSED_NOT_AUTHORIZED, exc.message)
        except OrthancRejected as exc:
            reason = (PROCESSING_FAILURE, f"refused by the store: {exc}")
        except OrthancUnavailable:
            reason = (OUT_OF_RESOURCES, "the image store is unavailable; retry later")
        else:
            url = f"{base_url}/studies/{verdict.study_instance_uid}"
            outcome.stored.append(StoredRef(verdict.sop_class_uid, verdict.sop_instance_uid, url))
            continue
        outcome.failed.append(FailedRef(verdict.sop_class_uid, verdict.sop_instance_uid, *reason))
    return outcome
