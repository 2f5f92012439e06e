"""A lung nodule's measurements across a patient's signed CT reports, for its doubling time.

The reader records a nodule in the structured report (CT chest template, version 2 on): its
label (lobe and number, e.g. "RUL-1"), long- and short-axis diameters and optionally a
segmented volume. Fields are found by their codes, not their ids, so a consortium's own
template measures nodules too. The same label on the patient's earlier CT studies (matched
through the patient index, never outside the study's tenant) is the same nodule.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.orm import Session

from services.contracts.task_names import QUEUE_INFERENCE, RUN_NODULE_VDT
from services.kit.db import enqueue
from services.models import Report, ReportTemplate, Study
from services.report import repository, template_service
from services.worklist import priors

LABEL_CODE = "nodule-label"
LONG_AXIS_CODE = "nodule-diameter"  # the largest (long-axis) diameter
SHORT_AXIS_CODE = "nodule-short-axis-diameter"
VOLUME_CODE = "nodule-volume"
MEASURED_MODALITY = "CT"


@dataclass(frozen=True)
class NoduleReading:
    """One nodule as one signed report measured it."""

    study_id: uuid.UUID
    study_instance_uid: str
    study_date: date
    report_id: uuid.UUID
    report_version: int
    label: str
    long_axis_mm: float | None
    short_axis_mm: float | None
    volume_mm3: float | None

    @property
    def diameters_mm(self) -> tuple[float, ...]:
        """The diameters measured, long axis first (empty when only a volume was)."""
        if self.long_axis_mm is None:
            return ()
        if self.short_axis_mm is None:
            return (self.long_axis_mm,)
        return (self.long_axis_mm, self.short_axis_mm)


@dataclass(frozen=True)
class NoduleHistory:
    """The nodule measured by a study's newest signed report, and on the patient's priors."""

    current: NoduleReading
    priors: tuple[NoduleReading, ...]


def label_key(label: str) -> str:
    """Return the comparable form of a nodule label (" rul-1 " and "RUL-1" are one nodule)."""
    return "".join(label.split()).upper()


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        return None
    return float(value)


def study_day(study: Study) -> date:
    """Return the study's date (DICOM StudyDate), else the day it was received."""
    try:
        return datetime.strptime(study.study_date, "%Y%m%d").date()
    except ValueError:
        return study.received_at.date()


def reading_of(session: Session, report: Report, study: Study) -> NoduleReading | None:
    """Return the nodule a structured report measured, None when it measured none."""
    if report.template_id is None or not report.structured:
        return None
    row = session.get(ReportTemplate, report.template_id)
    if row is None:
        return None
    by_code = {
        f.concept.code: f.id
        for f in template_service.definition(row).fields().values()
        if f.concept is not None
    }
    values = report.structured.get("values", {})

    def value(code: str) -> object:
        return values.get(by_code[code]) if code in by_code else None

    label = value(LABEL_CODE)
    long_axis, short_axis = _number(value(LONG_AXIS_CODE)), _number(value(SHORT_AXIS_CODE))
    volume = _number(value(VOLUME_CODE))
    if not isinstance(label, str) or not label.strip() or (long_axis is None and volume is None):
        return None
    return NoduleReading(
        study_id=study.id,
        study_instance_uid=study.study_instance_uid,
        study_date=study_day(study),
        report_id=report.id,
        report_version=report.version,
        label=label.strip(),
        long_axis_mm=long_axis,
        short_axis_mm=short_axis,
        volume_mm3=volume,
    )


def queue_if_measured(session: Session, *, report: Report, study: Study) -> bool:
    """Queue the doubling-time run after a CT report measuring a nodule is signed."""
    if study.modality.upper() != MEASURED_MODALITY or reading_of(session, report, study) is None:
        return False
    enqueue(session, RUN_NODULE_VDT, queue=QUEUE_INFERENCE, report_id=str(report.id))
    return True


def history_of(session: Session, study: Study) -> NoduleHistory | None:
    """Return the nodule of the study's newest signed report with its measured priors.

    Priors are the patient's earlier CT studies of the same tenant whose newest signed report
    measures a nodule of the same label; None when the study's report measures none.
    """
    report = repository.latest_signed(session, study.id)
    current = reading_of(session, report, study) if report is not None else None
    if current is None:
        return None
    found: dict[date, NoduleReading] = {}  # one per day: the model refuses a day twice
    for prior in priors.matched_priors(session, study=study, limit=200):
        other = prior.study
        if other.tenant_id != study.tenant_id or other.modality.upper() != MEASURED_MODALITY:
            continue
        signed = repository.latest_signed(session, other.id)
        reading = reading_of(session, signed, other) if signed is not None else None
        if (
            reading is not None
            and label_key(reading.label) == label_key(current.label)
            and reading.study_date < current.study_date
        ):
            found.setdefault(reading.study_date, reading)  # newest first: keeps the newest
    return NoduleHistory(current=current, priors=tuple(found[d] for d in sorted(found)))
