"""STOW-RS through the gateway: check each instance, store the good ones, quarantine the rest.

The uploader's organization owns what it stores; nothing reaches Orthanc unchecked.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from gateway.dicomweb.dicom_json import (
    CANNOT_UNDERSTAND,
    OUT_OF_RESOURCES,
    PROCESSING_FAILURE,
    REFUSED_NOT_AUTHORIZED,
    FailedRef,
    StoredRef,
)
from gateway.ingest.admission import Sender, admit
from gateway.orthanc.errors import OrthancRejected, OrthancUnavailable
from gateway.orthanc.port import OrthancPort
from services.auth.principal import Principal
from services.kit.errors import Conflict
from services.kit.storage import ObjectStore
from services.models import Organization
from services.quarantine import service as quarantine
from services.study import origin as study_origin


@dataclass
class StowOutcome:
    """What happened to every part of a STOW-RS request."""

    stored: list[StoredRef]
    failed: list[FailedRef]
    orthanc_studies: dict[str, str] = field(default_factory=dict)  # StudyInstanceUID -> id

    @property
    def status_code(self) -> int:
        """Return 200 (all stored), 202 (some failed) or 409 (none stored), per PS3.18."""
        if not self.failed:
            return 200
        return 202 if self.stored else 409


def _quarantine(  # noqa: PLR0913 - one held instance and where it came from
    session: Session,
    store: ObjectStore,
    principal: Principal,
    data: bytes,
    code: str,
    reason: str,
    *,
    source: str = "stow",
) -> None:
    assert principal.tenant_id is not None
    key = f"{principal.tenant_id}/quarantine/{uuid.uuid4().hex}.dcm"
    store.put(key, data, "application/dicom")
    quarantine.hold(
        session,
        source=source,
        reason_code=code,
        reason=reason,
        tenant_id=principal.tenant_id,
        organization_id=principal.organization_id,
        object_key=key,
    )


def store_instances(  # noqa: PLR0913 - the STOW inputs plus which door they came through
    session: Session,
    *,
    orthanc: OrthancPort,
    store: ObjectStore,
    principal: Principal,
    parts: list[bytes],
    base_url: str,
    source: str = "stow",
) -> StowOutcome:
    """Validate and store each part for the principal's organization."""
    assert principal.tenant_id is not None
    assert principal.organization_id is not None
    outcome = StowOutcome(stored=[], failed=[])
    organization = session.get(Organization, principal.organization_id)
    assert organization is not None
    sender = Sender(organization.id, organization.patient_id_issuer)
    for data in parts:
        admitted = admit(data, sender)  # validated, patient namespaced for Orthanc
        verdict = admitted.verdict
        if not verdict.ok:
            _quarantine(
                session,
                store,
                principal,
                data,
                verdict.reason_code,
                verdict.reason,
                source=source,
            )
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
            result = orthanc.upload_instance(admitted.data)
            study_origin.note_upload(
                session,
                orthanc_study_id=result.parent_study,
                tenant_id=principal.tenant_id,
                organization_id=principal.organization_id,
                source=source,
                uploaded_by=principal.actor,
            )
        except Conflict as exc:
            reason = (REFUSED_NOT_AUTHORIZED, exc.message)
        except OrthancRejected as exc:
            reason = (PROCESSING_FAILURE, f"refused by the store: {exc}")
        except OrthancUnavailable:
            reason = (OUT_OF_RESOURCES, "the image store is unavailable; retry later")
        else:
            outcome.orthanc_studies[verdict.study_instance_uid] = result.parent_study
            url = f"{base_url}/studies/{verdict.study_instance_uid}"
            outcome.stored.append(StoredRef(verdict.sop_class_uid, verdict.sop_instance_uid, url))
            continue
        outcome.failed.append(FailedRef(verdict.sop_class_uid, verdict.sop_instance_uid, *reason))
    return outcome
