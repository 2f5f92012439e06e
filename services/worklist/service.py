"""The reading hospital's worklist: opening items, scoring them, claiming and releasing."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy.orm import Session

from services.auth import access_cache
from services.auth.principal import Principal
from services.domain.priority import PriorityInputs, Severity, Urgency, compute_priority
from services.domain.study_status import StudyStatus
from services.finding import service as finding_service
from services.kit.clock import utc_now
from services.models import Study, WorklistItem
from services.study import transitions
from services.worklist import (
    assignment,
    claims,
    live,
    priors,
    query,
    repository,
    sla,
    weights,
)
from services.worklist.exceptions import NotClaimedByYou, WorklistItemNotFound

_AI_STATE = {"AI_DONE": "done", "AI_FAILED": "failed", "AI_SKIPPED": "skipped"}


def _age_years(birth_date: str) -> int | None:
    try:
        born = date(int(birth_date[:4]), int(birth_date[4:6]), int(birth_date[6:8]))
    except (ValueError, IndexError):
        return None
    today = utc_now().date()
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def _score(session: Session, item: WorklistItem, study: Study, now: datetime | None = None) -> None:
    worst = finding_service.worst(session, study.id)
    if worst is not None and worst.severity is Severity.CRITICAL and not item.critical:
        item.critical, item.critical_source = True, "ai"
    priority = compute_priority(
        PriorityInputs(
            ai_state=_AI_STATE.get(study.ai_status, "pending"),
            worst_finding=worst,
            urgency=Urgency(study.urgency),
            due_at=item.due_at,
            now=now or utc_now(),
            patient_age_years=_age_years(study.patient_birth_date),
        ),
        weights.weights_of(session, item.tenant_id),
    )
    item.priority = priority.score
    item.priority_reason = priority.explanation
    item.priority_rescore_at = priority.rescore_at
    item.ai_flag = study.ai_status


def open_item(session: Session, *, study: Study, reader_org_id: uuid.UUID) -> WorklistItem:
    """Put a validated study on its reading hospital's worklist (AI or not)."""
    existing = repository.by_study(session, study.id)
    if existing is not None:
        return existing
    item = WorklistItem(
        tenant_id=study.tenant_id,
        study_id=study.id,
        reader_org_id=reader_org_id,
        clinic_org_id=study.organization_id,
        status="UNREAD",
        **sla.due_fields(session, study=study, reader_org_id=reader_org_id),
        **query.item_facts(study),
    )
    _score(session, item, study)
    session.add(item)
    transitions.move(session, study, StudyStatus.UNREAD, actor="system:intake")
    session.flush()
    live.publish(session, item, "created")
    priors.index_study(session, study=study)
    assignment.auto_assign(session, item=item, study=study)
    return item


def reprioritize(
    session: Session, *, study: Study, now: datetime | None = None
) -> WorklistItem | None:
    """Recompute the priority of a study's item after anything it depends on changed."""
    item = repository.by_study(session, study.id)
    if item is not None:
        before = item.priority
        _score(session, item, study, now)
        if item.priority != before:
            live.publish(session, item, "reprioritized")
    return item


def mark_critical(session: Session, *, study_id: uuid.UUID, source: str = "report") -> None:
    """Flag the study's item as holding a critical value (``source``: "report" or "ai").

    Called when a reader declares a critical value; a reader's declaration wins over an AI
    flag as the source shown. Items of the list filter ``critical=true``; idempotent.
    """
    item = repository.by_study(session, study_id)
    if item is None or (item.critical and item.critical_source == source):
        return
    if item.critical and source == "ai":
        return
    item.critical, item.critical_source = True, source
    live.publish(session, item, "reprioritized")


def display_names(session: Session, user_ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    """Return claimers' and assignees' display names (cached while the access epoch holds)."""
    if not user_ids:
        return {}
    return access_cache.cached_many(
        session,
        access_cache.DISPLAY_NAMES,
        user_ids,
        lambda missing: repository.display_names(session, missing),
    )


def holder_names(
    session: Session, *, item: WorklistItem, principal: Principal
) -> dict[uuid.UUID, str]:
    """Return display names of the item's claimer and assignee (the caller's without SQL)."""
    names: dict[uuid.UUID, str] = {}
    if principal.user_id is not None:
        names[principal.user_id] = principal.display_name
    unknown = {i for i in (item.claimed_by_id, item.assigned_to_id) if i and i not in names}
    names.update(display_names(session, unknown))
    return names


def get_for_reader(session: Session, *, principal: Principal, item_id: uuid.UUID) -> WorklistItem:
    """Return an item of the caller's hospital, or raise WorklistItemNotFound."""
    item = session.get(WorklistItem, item_id)
    if (
        item is None
        or item.tenant_id != principal.tenant_id
        or item.reader_org_id != principal.organization_id
    ):
        raise WorklistItemNotFound("No such worklist item on your hospital's worklist.")
    return item


def claim(session: Session, *, principal: Principal, item_id: uuid.UUID) -> WorklistItem:
    """Lock an item for the calling radiologist; exactly one of concurrent callers wins."""
    return claims.claim(session, principal=principal, item_id=item_id)


def require_claim(session: Session, *, principal: Principal, study_id: uuid.UUID) -> WorklistItem:
    """Return the study's item if the caller holds its claim, else raise NotClaimedByYou."""
    item = repository.by_study(session, study_id)
    if item is None or item.tenant_id != principal.tenant_id:
        raise WorklistItemNotFound("This study is not on a worklist you can see.")
    if item.status != "CLAIMED" or item.claimed_by_id != principal.user_id:
        raise NotClaimedByYou(
            "Claim the study on the worklist before writing or signing its report."
        )
    return item


def release(session: Session, *, principal: Principal, item_id: uuid.UUID) -> WorklistItem:
    """Give a claimed item back to the shared queue."""
    return claims.release(session, principal=principal, item_id=item_id)


def mark_reported(*, item: WorklistItem) -> None:
    """Close an item once its report is signed."""
    item.status = "REPORTED"
    item.lock_expires_at = None
    sla.mark_reported(item)
    live.publish(None, item, "reported")
