"""Per-model monitoring for the admin console, always within one tenant.

Agreement with readers. For every study where the version's run SUCCEEDED and that has a
signed report (FINAL, CORRECTED or APPENDED), each finding code of the manifest is compared:

* the model called the code present if its run stored a finding with that code;
* the reader marked it present if the latest decision, in a signed report of the study, on
  any AI finding with that code (from any model version) is ``accept`` or ``edit``
  (table ``report_finding_decisions``); ``reject``, or no decision at all in a signed report,
  counts as absent. Shadow findings are never shown, so for a shadow version "absent" means
  the reader signed without accepting such a finding from the visible model.

Latency: ``infer_ms`` (the model call) and run time (lease to finish) percentiles. Failure
rate: FAILED / finished runs. Input drift: the modality mix and the pixel statistics of the
tensors sent (mean, std, median), current window vs the baseline window before it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from services.domain.model_metrics import (
    Agreement,
    Shift,
    agreement,
    mix,
    percentile,
    shift,
    total_variation,
)
from services.kit.clock import utc_now
from services.model_registry.service import get, manifest_of
from services.models import AiFinding, InferenceJob, Report, ReportFindingDecision

PRESENT_DECISIONS = ("accept", "edit")
# Report versions a radiologist has signed for good (PRELIMINARY awaits a countersignature).
SIGNED = ("FINAL", "CORRECTED", "APPENDED")
_ROW_LIMIT = 50_000
_STATS = ("mean", "std", "p50")


@dataclass(frozen=True)
class Window:
    """The current window ``[start, end)`` and the baseline window just before it."""

    start: datetime
    end: datetime
    baseline_start: datetime

    @classmethod
    def ending_now(cls, *, days: int, baseline_days: int) -> Window:
        """Return the last ``days`` and the ``baseline_days`` before them."""
        end = utc_now()
        start = end - timedelta(days=days)
        return cls(start=start, end=end, baseline_start=start - timedelta(days=baseline_days))


@dataclass(frozen=True)
class Drift:
    """Input drift of the current window against the baseline window."""

    baseline_runs: int
    current_runs: int
    modality_mix_baseline: dict[str, float]
    modality_mix_current: dict[str, float]
    modality_mix_distance: float
    pixel_shift: dict[str, Shift]
    drifting: bool


@dataclass(frozen=True)
class ModelMonitoring:
    """Everything the admin console shows about one model version in one tenant."""

    name: str
    version: str
    state: str
    window: Window
    runs: int
    succeeded: int
    failed: int
    failure_rate: float | None
    infer_ms: dict[str, float | None]
    run_ms: dict[str, float | None]
    agreement: list[Agreement]
    drift: Drift
    notes: list[str] = field(default_factory=list)


def _jobs(
    session: Session, tenant_id: uuid.UUID, name: str, version: str, start: datetime, end: datetime
) -> list[InferenceJob]:
    stmt = (
        select(InferenceJob)
        .where(
            InferenceJob.tenant_id == tenant_id,
            InferenceJob.model_name == name,
            InferenceJob.model_version == version,
            InferenceJob.finished_at >= start,
            InferenceJob.finished_at < end,
        )
        .limit(_ROW_LIMIT)
    )
    return list(session.scalars(stmt))


def _percentiles(values: list[float]) -> dict[str, float | None]:
    return {f"p{q}": percentile(values, q) for q in (50, 90, 95, 99)} | {"count": len(values)}


def _agreement(
    session: Session, tenant_id: uuid.UUID, jobs: list[InferenceJob], codes: list[str]
) -> list[Agreement]:
    done = {job.id: job.study_id for job in jobs if job.status == "SUCCEEDED"}
    if not done:
        return [agreement(code, set(), set(), []) for code in codes]
    study_ids = set(done.values())
    signed = set(
        session.scalars(
            select(Report.study_id).where(
                Report.tenant_id == tenant_id,
                Report.status.in_(SIGNED),
                Report.study_id.in_(study_ids),
            )
        )
    )
    predicted = session.execute(
        select(AiFinding.study_id, AiFinding.code).where(AiFinding.job_id.in_(list(done)))
    ).all()
    decisions = session.execute(
        select(AiFinding.study_id, AiFinding.code, ReportFindingDecision.decision)
        .join(ReportFindingDecision, ReportFindingDecision.finding_id == AiFinding.id)
        .join(
            Report,
            and_(Report.id == ReportFindingDecision.report_id, Report.status.in_(SIGNED)),
        )
        .where(AiFinding.tenant_id == tenant_id, AiFinding.study_id.in_(signed))
        .order_by(ReportFindingDecision.decided_at)
    ).all()
    latest: dict[tuple[uuid.UUID, str], str] = {}
    for study_id, code, decision in decisions:  # ordered: the last one wins
        latest[(study_id, code)] = decision
    result = []
    for code in codes:
        said = {s for s, c in predicted if c == code}
        truth = {s for (s, c), d in latest.items() if c == code and d in PRESENT_DECISIONS}
        result.append(agreement(code, said, truth, sorted(signed, key=str)))  # type: ignore[arg-type]
    return result


def _drift(baseline: list[InferenceJob], current: list[InferenceJob]) -> Drift:
    def modalities(jobs: list[InferenceJob]) -> dict[str, float]:
        return mix(job.input_modality or "?" for job in jobs if job.status == "SUCCEEDED")

    def stat(jobs: list[InferenceJob], key: str) -> list[float]:
        return [float(j.input_stats[key]) for j in jobs if j.input_stats and key in j.input_stats]

    before, now = modalities(baseline), modalities(current)
    distance = total_variation(before, now) if before and now else 0.0
    shifts = {key: shift(stat(baseline, key), stat(current, key)) for key in _STATS}
    moved = any(s.shift_sd is not None and abs(s.shift_sd) > 2.0 for s in shifts.values())
    return Drift(
        baseline_runs=sum(1 for j in baseline if j.status == "SUCCEEDED"),
        current_runs=sum(1 for j in current if j.status == "SUCCEEDED"),
        modality_mix_baseline=before,
        modality_mix_current=now,
        modality_mix_distance=distance,
        pixel_shift=shifts,
        drifting=moved or distance > 0.2,
    )


def monitor(
    session: Session, *, tenant_id: uuid.UUID, name: str, version: str, window: Window
) -> ModelMonitoring:
    """Return one version's monitoring figures for one tenant (raises ModelVersionNotFound)."""
    row = get(session, name=name, version=version)
    codes = [rule.code for rule in manifest_of(row).findings]
    current = _jobs(session, tenant_id, name, version, window.start, window.end)
    baseline = _jobs(session, tenant_id, name, version, window.baseline_start, window.start)
    succeeded = [j for j in current if j.status == "SUCCEEDED"]
    failed = sum(1 for j in current if j.status == "FAILED")
    finished = len(succeeded) + failed
    run_ms = [
        (j.finished_at - j.started_at).total_seconds() * 1000
        for j in succeeded
        if j.finished_at and j.started_at
    ]
    notes = []
    if len(current) >= _ROW_LIMIT:
        notes.append(f"only the first {_ROW_LIMIT} runs of the window were read")
    return ModelMonitoring(
        name=name,
        version=version,
        state=row.state,
        window=window,
        runs=len(current),
        succeeded=len(succeeded),
        failed=failed,
        failure_rate=round(failed / finished, 4) if finished else None,
        infer_ms=_percentiles([float(j.infer_ms) for j in succeeded if j.infer_ms is not None]),
        run_ms=_percentiles(run_ms),
        agreement=_agreement(session, tenant_id, current, codes),
        drift=_drift(baseline, current),
        notes=notes,
    )
