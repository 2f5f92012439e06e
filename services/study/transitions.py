"""The only way study statuses change: checked against the domain rules and audited."""

from __future__ import annotations

from sqlalchemy.orm import Session

from services.audit import service as audit
from services.domain.study_status import AiStatus, StudyStatus, next_ai_status, next_study_status
from services.models import Study


def move(session: Session, study: Study, target: StudyStatus, *, actor: str) -> None:
    """Move a study's reading status to ``target`` or raise IllegalTransition."""
    current = StudyStatus(study.status)
    study.status = next_study_status(current, target).value
    audit.record(
        session,
        actor=actor,
        action="study.status",
        object_type="study",
        object_id=study.id,
        tenant_id=study.tenant_id,
        study_id=study.id,
        detail={"from": current.value, "to": target.value},
    )


def move_ai(session: Session, study: Study, target: AiStatus, *, actor: str) -> None:
    """Move a study's AI status to ``target`` (no-op if already there) or raise."""
    current = AiStatus(study.ai_status)
    if current is target:
        return
    study.ai_status = next_ai_status(current, target).value
    audit.record(
        session,
        actor=actor,
        action="study.ai_status",
        object_type="study",
        object_id=study.id,
        tenant_id=study.tenant_id,
        study_id=study.id,
        detail={"from": current.value, "to": target.value},
    )
