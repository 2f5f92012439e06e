"""STOW-RS through the gateway: check each instance, store the good ones, quarantine the rest.

The uploader's organization owns what it stores; nothing reaches Orthanc unchecked.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
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
from gateway.ingest.buffer_file import Buffer
from gateway.ingest.recently_seen import RecentlySeen
from gateway.ingest.validation import Verdict
from gateway.orthanc.errors import OrthancRejected, OrthancUnavailable
from gateway.orthanc.port import OrthancPort
from gateway.orthanc.records import UploadResult
from services.auth.principal import Principal
from services.domain.declared_order import DeclaredOrder, UnknownDeclaration, declared_order
from services.kit.errors import Conflict, InvalidInput
from services.kit.storage import ObjectStore
from services.models import Organization
from services.quarantine import service as quarantine
from services.study import origin as study_origin

# An organization's issuer of patient IDs changes rarely; a minute's delay is acceptable.
SENDERS: RecentlySeen[uuid.UUID, Sender] = RecentlySeen(ttl_s=60.0)
OWNERS: RecentlySeen[tuple[uuid.UUID, str, DeclaredOrder | None], bool] = RecentlySeen(ttl_s=60.0)
# The parts of one request go to Orthanc a few at a time: its write latency overlaps the next
# part's check. The uploader's own connection cap still bounds what Orthanc sees in all.
FORWARDERS = ThreadPoolExecutor(max_workers=8, thread_name_prefix="stow-forward")


class UnknownDeclaredValue(InvalidInput):
    """The uploader declared an urgency or patient type that does not exist."""

    code = "unknown_declared_value"


def declared_from(urgency: str | None, patient_type: str | None) -> DeclaredOrder | None:
    """Return the uploader's declaration (None when nothing is declared), or 422."""
    if not urgency and not patient_type:
        return None
    try:
        return declared_order(urgency=urgency, patient_type=patient_type)
    except UnknownDeclaration as exc:
        raise UnknownDeclaredValue(str(exc)) from exc


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
    data: Buffer,
    code: str,
    reason: str,
    *,
    source: str = "stow",
) -> None:
    assert principal.tenant_id is not None
    key = f"{principal.tenant_id}/quarantine/{uuid.uuid4().hex}.dcm"
    store.put(key, bytes(data), "application/dicom")
    quarantine.hold(
        session,
        source=source,
        reason_code=code,
        reason=reason,
        tenant_id=principal.tenant_id,
        organization_id=principal.organization_id,
        object_key=key,
    )


def _upload_here(orthanc: OrthancPort, data: bytes) -> Future[UploadResult]:
    """Upload in this thread; the outcome is kept as a future, like the pooled uploads'."""
    done: Future[UploadResult] = Future()
    try:
        done.set_result(orthanc.upload_instance(data))
    except Exception as exc:  # re-raised by result(), where the pooled ones raise theirs
        done.set_exception(exc)
    return done


def _sender(session: Session, organization_id: uuid.UUID) -> Sender:
    sender = SENDERS.get(organization_id)
    if sender is None:
        organization = session.get(Organization, organization_id)
        assert organization is not None  # the principal was just authorized
        sender = Sender(organization.id, organization.patient_id_issuer)
        SENDERS.put(organization_id, sender)
    return sender


def _note_owner(
    session: Session,
    principal: Principal,
    orthanc_study_id: str,
    source: str,
    declared: DeclaredOrder | None,
) -> None:
    """Record the uploader once per study a minute: a study's next slices skip the database.

    The declaration is part of the key, so a study re-sent with another urgency is noted again.
    """
    assert principal.tenant_id is not None
    assert principal.organization_id is not None
    key = (principal.organization_id, orthanc_study_id, declared)
    if OWNERS.get(key):
        return
    study_origin.note_upload(
        session,
        orthanc_study_id=orthanc_study_id,
        tenant_id=principal.tenant_id,
        organization_id=principal.organization_id,
        source=source,
        uploaded_by=principal.actor,
        declared=declared,
    )
    session.commit()  # noted for good before this process remembers it
    OWNERS.put(key, True)


def store_instances(  # noqa: PLR0913 - the STOW inputs plus which door they came through
    session: Session,
    *,
    orthanc: OrthancPort,
    store: ObjectStore,
    principal: Principal,
    parts: Sequence[Buffer],
    base_url: str,
    source: str = "stow",
    declared: DeclaredOrder | None = None,
) -> StowOutcome:
    """Validate and store each part for the principal's organization.

    ``declared`` is the uploader's urgency / patient type for the studies of these parts.
    """
    assert principal.tenant_id is not None
    assert principal.organization_id is not None
    outcome = StowOutcome(stored=[], failed=[])
    sender = _sender(session, principal.organization_id)
    uploads: list[tuple[Verdict, Future[UploadResult]]] = []
    for number, data in enumerate(parts, start=1):
        admitted = admit(data, sender)  # validated, patient namespaced for Orthanc
        verdict = admitted.verdict
        if verdict.ok and number < len(parts):  # stored while the next part is checked
            uploads.append((verdict, FORWARDERS.submit(orthanc.upload_instance, admitted.data)))
            continue
        if verdict.ok:  # the last part: nothing to overlap with, so no thread hop
            uploads.append((verdict, _upload_here(orthanc, admitted.data)))
            continue
        _quarantine(
            session, store, principal, data, verdict.reason_code, verdict.reason, source=source
        )
        outcome.failed.append(
            FailedRef(
                verdict.sop_class_uid, verdict.sop_instance_uid, CANNOT_UNDERSTAND, verdict.reason
            )
        )
    for verdict, upload in uploads:
        try:
            result = upload.result()
            _note_owner(session, principal, result.parent_study, source, declared)
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
