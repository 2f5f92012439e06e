"""Route recent studies again after the registry changed (a version enabled, a tenant subscribed).

Only studies still waiting for AI or that got none (AI_PENDING, AI_SKIPPED) and received in the
last ``days`` are looked at; a study already read or with AI results keeps them. Routing runs
as at ingest and only jobs the study does not have yet are added (the job's unique key is
study + model version), so running it twice adds nothing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.audit import service as audit
from services.domain.study_status import AiStatus
from services.inference_job import service as job_service
from services.kit.clock import utc_now
from services.model_registry import routing as model_routing
from services.models import Study
from services.study import repository, transitions

ACTOR = "cli:models"
_WAITING = (AiStatus.AI_PENDING.value, AiStatus.AI_SKIPPED.value)


@dataclass(frozen=True)
class RerouteResult:
    """How many recent studies were looked at, and how many got new jobs."""

    studies: int
    rerouted: int
    jobs: int


def reroute_recent(
    session: Session, *, days: int, tenant_id: uuid.UUID | None = None, actor: str = ACTOR
) -> RerouteResult:
    """Add the jobs the registry now plans for waiting/skipped studies of the last ``days``."""
    if days < 1:
        raise ValueError("days must be at least 1")
    stmt = select(Study).where(
        Study.ai_status.in_(_WAITING), Study.received_at >= utc_now() - timedelta(days=days)
    )
    if tenant_id is not None:
        stmt = stmt.where(Study.tenant_id == tenant_id)
    studies = list(session.scalars(stmt.order_by(Study.received_at).with_for_update()))
    rerouted = jobs = 0
    for study in studies:
        added = _add_missing_jobs(session, study, actor)
        if added:
            rerouted, jobs = rerouted + 1, jobs + added
    return RerouteResult(studies=len(studies), rerouted=rerouted, jobs=jobs)


def _add_missing_jobs(session: Session, study: Study, actor: str) -> int:
    series = repository.series_of(session, study.id)
    decision = model_routing.plan_jobs(session, tenant_id=study.tenant_id, series=series)
    if decision is None:  # no registry in use: the configured routes already decided
        return 0
    have = {(j.model_name, j.model_version) for j in job_service.jobs_of_study(session, study.id)}
    new = [plan for plan in decision.plans if (plan.name, plan.version) not in have]
    if not new:
        return 0
    job_service.create_jobs(session, study=study, plans=new)
    if any(not plan.shadow for plan in new):
        study.ai_status_reason = ""
        transitions.move_ai(session, study, AiStatus.AI_PENDING, actor=actor)
    audit.record(
        session,
        actor=actor,
        action="study.ai_rerouted",
        object_type="study",
        object_id=study.id,
        tenant_id=study.tenant_id,
        study_id=study.id,
        detail={"models": [f"{plan.name} v{plan.version}" for plan in new]},
    )
    return len(new)
