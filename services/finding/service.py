"""AI findings: stored idempotently per job, summarized for priority and reports."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.domain.priority import Severity, WorstFinding
from services.model_registry import service as model_registry
from services.models import AiFinding, InferenceJob

_SEVERITY_RANK = {Severity.NORMAL: 0, Severity.SIGNIFICANT: 1, Severity.CRITICAL: 2}


@dataclass(frozen=True)
class FindingInput:
    """One finding as a model pipeline produced it."""

    code: str
    label_en: str
    label_zh: str
    score: float
    severity: str
    detail: dict[str, Any] = field(default_factory=dict)


def record(session: Session, *, job: InferenceJob, findings: Sequence[FindingInput]) -> int:
    """Store the findings of a job once; a re-run of the same job adds nothing."""
    existing = set(session.scalars(select(AiFinding.code).where(AiFinding.job_id == job.id)))
    added = 0
    for f in findings:
        if f.code in existing:
            continue
        session.add(
            AiFinding(
                tenant_id=job.tenant_id,
                study_id=job.study_id,
                job_id=job.id,
                model_name=job.model_name,
                model_version=job.model_version,
                code=f.code,
                label_en=f.label_en,
                label_zh=f.label_zh,
                score=f.score,
                severity=Severity(f.severity).value,
                detail=f.detail,
            )
        )
        added += 1
    session.flush()
    return added


def of_study(
    session: Session, study_id: uuid.UUID, *, include_shadow: bool = False
) -> list[AiFinding]:
    """Return a study's findings, most severe first.

    Findings of shadow runs (a model version under evaluation) are left out unless asked
    for: readers, the worklist priority and reports never see them.
    """
    stmt = select(AiFinding).where(AiFinding.study_id == study_id)
    if not include_shadow:
        stmt = stmt.join(InferenceJob, InferenceJob.id == AiFinding.job_id).where(
            InferenceJob.shadow.is_(False)
        )
    rows = session.scalars(stmt)
    return sorted(rows, key=lambda f: (-_SEVERITY_RANK[Severity(f.severity)], -f.score))


def notices(
    session: Session, findings: Sequence[AiFinding]
) -> dict[tuple[str, str], dict[str, str]]:
    """Return the "AI-assisted, for reference" wording, with regulatory status, per version."""
    keys = {(f.model_name, f.model_version) for f in findings}
    return model_registry.notices(session, keys)


def worst(session: Session, study_id: uuid.UUID) -> WorstFinding | None:
    """Return the most severe finding of a study, for the priority score."""
    findings = of_study(session, study_id)
    if not findings:
        return None
    top = findings[0]
    return WorstFinding(label=top.label_en, severity=Severity(top.severity), score=top.score)
