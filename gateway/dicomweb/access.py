"""Who may read what through DICOMweb: every request is resolved to one study of the caller.

Orthanc's DICOMweb plugin addresses objects by UID only, and two senders may (by accident or on
purpose) use the same StudyInstanceUID. So before anything is proxied the gateway checks, in
this order: the UIDs are syntactically valid (400), the study is registered and visible in the
caller's scope (404 otherwise, denial audited), Orthanc holds exactly that one study under the
UID (409 on a collision, so no other sender's instances can be served), and a named series or
instance belongs to that study. Instances are parsed and checked (pixel header sizes) before
Orthanc is ever asked to decode them for ``/frames`` or ``/rendered``.
"""

from __future__ import annotations

import threading
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from gateway.dicomweb import ai_series, repository
from gateway.dicomweb.upstream import OrthancDicomWeb
from gateway.ingest.validation import check_instance
from gateway.orthanc.port import OrthancPort
from services.audit import service as audit
from services.auth.principal import Principal, TenantScope
from services.kit.errors import AppError, Conflict, NotFound
from services.kit.ids import is_dicom_uid
from services.models import Study
from services.worklist import claims, priors

_NOT_VISIBLE = "No such study, or it belongs to an organization you cannot see."


class InvalidUid(AppError):
    """A UID in the path or query is not a DICOM UID."""

    status_code = 400
    code = "invalid_uid"


class UnsafeInstance(AppError):
    """The instance's image header is implausible; it will not be decoded."""

    status_code = 422
    code = "unsafe_instance"


def check_uid(value: str, what: str) -> str:
    """Return ``value`` if it is a DICOM UID (digits and dots, at most 64), else raise 400."""
    if not is_dicom_uid(value):
        raise InvalidUid(f"The {what} is not a valid DICOM UID (digits and dots, at most 64).")
    return value


@dataclass(frozen=True)
class Target:
    """A study the caller may read, with the Orthanc ids the request may touch."""

    study: Study
    series_uid: str = ""
    instance_uid: str = ""
    instance_orthanc_id: str = ""


class _ValidatedInstances:
    """Orthanc instance ids whose files passed ``check_instance`` (bounded, thread-safe)."""

    def __init__(self, size: int = 20_000) -> None:
        self._ids: OrderedDict[str, None] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def __contains__(self, key: object) -> bool:
        with self._lock:
            return key in self._ids

    def add(self, key: str) -> None:
        with self._lock:
            self._ids[key] = None
            while len(self._ids) > self._size:
                self._ids.popitem(last=False)


VALIDATED = _ValidatedInstances()


def _denied(session: Session, principal: Principal, action: str, study_uid: str) -> NotFound:
    audit.record_denied(
        session,
        actor=principal.actor,
        action=action,
        object_type="study",
        tenant_id=principal.tenant_id,
        detail={"study_instance_uid": study_uid},
    )
    return NotFound(_NOT_VISIBLE)


def audit_search(session: Session, *, principal: Principal, count: int) -> None:
    """Record a QIDO-RS study search and how many studies it returned."""
    audit.record(
        session,
        actor=principal.actor,
        action="dicomweb.search_studies",
        object_type="study",
        tenant_id=principal.tenant_id,
        detail={"count": count},
    )


def _only_study_under_uid(upstream: OrthancDicomWeb, study: Study) -> None:
    found = [r["ID"] for r in upstream.lookup(study.study_instance_uid) if r.get("Type") == "Study"]
    if found != [study.orthanc_id]:
        raise Conflict(
            "Another sender stored a study under the same StudyInstanceUID; it cannot be served "
            "by UID until an administrator resolves the collision."
        )


def _instances_of(upstream: OrthancDicomWeb, study: Study) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = upstream.rest_json(f"/studies/{study.orthanc_id}/instances")
    return found


def resolve(  # noqa: PLR0913 - the request's facts, each checked here
    session: Session,
    *,
    upstream: OrthancDicomWeb,
    principal: Principal,
    scope: TenantScope,
    action: str,
    study_uid: str,
    series_uid: str = "",
    instance_uid: str = "",
    via_item: str = "",
) -> Target:
    """Return what the caller may read, or raise 400/404/409; the access is audited.

    ``via_item`` names the worklist item being read when the study is one of its patient's
    priors from a clinic outside the caller's reading agreements (see ``_prior_via_item``).
    """
    check_uid(study_uid, "StudyInstanceUID")
    if series_uid:
        check_uid(series_uid, "SeriesInstanceUID")
    if instance_uid:
        check_uid(instance_uid, "SOPInstanceUID")
    study = repository.readable_study(session, scope, study_uid)
    if study is None and via_item:
        study = _prior_via_item(session, principal, scope, study_uid, via_item)
    if study is None or not study.orthanc_id:
        raise _denied(session, principal, action, study_uid)
    _only_study_under_uid(upstream, study)
    target = Target(study=study)
    if series_uid:
        series = {
            s.series_instance_uid: s.orthanc_id for s in repository.series_of(session, study.id)
        }
        if series_uid not in series:  # RadBridge's own AI result series are not registered
            results = ai_series.of_study(session, upstream, study)
            series.update({r.series_instance_uid: r.orthanc_id for r in results})
        if series_uid not in series:
            raise NotFound("The study has no such series.")
        target = Target(study=study, series_uid=series_uid)
        if instance_uid:
            by_orthanc = {orthanc_id: uid for uid, orthanc_id in series.items()}
            match = [
                i["ID"]
                for i in _instances_of(upstream, study)
                if i.get("MainDicomTags", {}).get("SOPInstanceUID") == instance_uid
                and by_orthanc.get(i.get("ParentSeries")) == series_uid
            ]
            if len(match) != 1:
                raise NotFound("The series has no such instance.")
            target = Target(study, series_uid, instance_uid, match[0])
    audit.record(
        session,
        actor=principal.actor,
        action=action,
        object_type="study",
        object_id=study.id,
        tenant_id=study.tenant_id,
        study_id=study.id,
        detail={k: v for k, v in (("series", series_uid), ("instance", instance_uid)) if v},
    )
    return target


def _prior_via_item(
    session: Session, principal: Principal, scope: TenantScope, study_uid: str, via_item: str
) -> Study | None:
    """Return a prior the worklist rules open for the caller through ``via_item``, else None.

    The rules are the API's (``services.worklist.priors.open_prior``): a matched prior of the
    item's patient in the same consortium, for the reader holding the item's claim; audited.
    """
    try:
        item_id = uuid.UUID(via_item)
    except ValueError:
        return None
    if principal.tenant_id is None:
        return None
    prior = repository.tenant_study(session, principal.tenant_id, study_uid)
    if prior is None:
        return None
    try:
        item = claims.hospital_item(session, principal=principal, item_id=item_id)
        priors.open_prior(
            session, principal=principal, scope=scope, item=item, prior_study_id=prior.id
        )
    except AppError:
        return None
    return prior


def ensure_decodable(orthanc: OrthancPort, instance_orthanc_id: str) -> None:
    """Parse the stored instance once and refuse to decode one with an implausible header."""
    if instance_orthanc_id in VALIDATED:
        return
    verdict = check_instance(orthanc.get_instance_file(instance_orthanc_id))
    if not verdict.ok:
        raise UnsafeInstance(f"This instance will not be rendered: {verdict.reason}")
    VALIDATED.add(instance_orthanc_id)


def middle_instance(upstream: OrthancDicomWeb, target: Target, session: Session) -> Target:
    """Return the target narrowed to the middle instance of its series (or of its study)."""
    series = {
        s.orthanc_id: s.series_instance_uid for s in repository.series_of(session, target.study.id)
    }
    candidates = [
        i
        for i in _instances_of(upstream, target.study)
        if i.get("ParentSeries") in series
        and (not target.series_uid or series[i["ParentSeries"]] == target.series_uid)
    ]
    if not candidates:
        raise NotFound("The study has no instance to show.")

    def number(i: dict[str, Any]) -> int:
        text = str(i.get("MainDicomTags", {}).get("InstanceNumber", "0")).strip()
        return int(text) if text.lstrip("-").isdigit() else 0

    candidates.sort(key=number)
    chosen = candidates[len(candidates) // 2]
    uid = str(chosen.get("MainDicomTags", {}).get("SOPInstanceUID", ""))
    return Target(
        target.study, series[chosen["ParentSeries"]], check_uid(uid, "SOPInstanceUID"), chosen["ID"]
    )
