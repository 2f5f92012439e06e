"""API shapes of the model registry: model versions, subscriptions, monitoring."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from services.domain.model_metrics import Agreement
from services.model_registry.monitoring import ModelMonitoring


class ModelVersionRead(BaseModel):
    """A registered model version as the admin console lists it."""

    name: str
    version: str
    state: str
    display_name_en: str
    display_name_zh: str
    vendor: str
    regulatory_status: str
    nmpa_registration: str | None
    notice_en: str
    notice_zh: str
    modalities: list[str]
    finding_codes: list[str]
    checked_at: datetime | None
    check_ms: int | None
    subscribed: bool


class SubscriptionCreate(BaseModel):
    """Subscribe the caller's consortium to a model (all its enabled versions)."""

    model_name: str = Field(min_length=2, max_length=64)


class SubscriptionRead(BaseModel):
    """A consortium's subscription to a model."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    model_name: str
    created_at: datetime


class AgreementRead(BaseModel):
    """Agreement for one finding code (definitions: docs/models.md)."""

    code: str
    studies: int
    true_positive: int
    false_positive: int
    false_negative: int
    true_negative: int
    sensitivity: float | None
    specificity: float | None
    ppv: float | None

    @classmethod
    def of(cls, a: Agreement) -> AgreementRead:
        """Build from the domain figure."""
        return cls(
            code=a.code,
            studies=a.studies,
            true_positive=a.true_positive,
            false_positive=a.false_positive,
            false_negative=a.false_negative,
            true_negative=a.true_negative,
            sensitivity=a.sensitivity,
            specificity=a.specificity,
            ppv=a.ppv,
        )


class ShiftRead(BaseModel):
    """One pixel statistic, baseline vs current window."""

    baseline_mean: float | None
    current_mean: float | None
    shift_sd: float | None


class DriftRead(BaseModel):
    """Input drift, current window vs the baseline window before it."""

    baseline_runs: int
    current_runs: int
    modality_mix_baseline: dict[str, float]
    modality_mix_current: dict[str, float]
    modality_mix_distance: float
    pixel_shift: dict[str, ShiftRead]
    drifting: bool


class MonitoringRead(BaseModel):
    """One model version's monitoring figures in the caller's consortium."""

    name: str
    version: str
    state: str
    window_start: datetime
    window_end: datetime
    baseline_start: datetime
    runs: int
    succeeded: int
    failed: int
    failure_rate: float | None
    infer_ms: dict[str, float | None]
    run_ms: dict[str, float | None]
    agreement: list[AgreementRead]
    drift: DriftRead
    notes: list[str]

    @classmethod
    def of(cls, m: ModelMonitoring) -> MonitoringRead:
        """Build from the service's figures."""
        d = m.drift
        return cls(
            name=m.name,
            version=m.version,
            state=m.state,
            window_start=m.window.start,
            window_end=m.window.end,
            baseline_start=m.window.baseline_start,
            runs=m.runs,
            succeeded=m.succeeded,
            failed=m.failed,
            failure_rate=m.failure_rate,
            infer_ms=m.infer_ms,
            run_ms=m.run_ms,
            agreement=[AgreementRead.of(a) for a in m.agreement],
            drift=DriftRead(
                baseline_runs=d.baseline_runs,
                current_runs=d.current_runs,
                modality_mix_baseline=d.modality_mix_baseline,
                modality_mix_current=d.modality_mix_current,
                modality_mix_distance=d.modality_mix_distance,
                pixel_shift={
                    k: ShiftRead(
                        baseline_mean=s.baseline_mean,
                        current_mean=s.current_mean,
                        shift_sd=s.shift_sd,
                    )
                    for k, s in d.pixel_shift.items()
                },
                drifting=d.drifting,
            ),
            notes=m.notes,
        )
