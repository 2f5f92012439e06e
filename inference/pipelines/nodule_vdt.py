"""Lung-nodule volume doubling time across a patient's CT studies -> Triton ``nodule_vdt``.

The inputs are one nodule's measurements on each study (diameters and/or a segmented volume,
from the radiologist's report or a detection model), matched across studies by the caller. The
finding carries every input (study, date, diameters, volume used) so a reader can check the
arithmetic, as the Fleischner and BTS guidelines expect of a reported VDT.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np

from inference.pipelines.findings import FindingDraft
from inference.triton.port import InferenceClient, ModelContractError

MODEL_NAME = "nodule_vdt"
MODEL_VERSION = "1"
INPUT_NAME = "MEASUREMENTS"
OUTPUT_NAMES = ["VOLUMES_MM3", "VDT_DAYS", "GROWTH"]
FAST_GROWTH_THRESHOLD = 1.0  # manifest: baseline VDT <= 400 days with >= 25 % growth
MALIGNANT_VDT_DAYS = 400


class MeasurementError(ValueError):
    """The measurements cannot give a doubling time (too few, same day, nothing measured)."""


@dataclass(frozen=True)
class NoduleMeasurement:
    """One nodule measured on one CT study.

    Attributes
    ----------
    diameters_mm
        Up to three perpendicular diameters (long axis, short axis, cranio-caudal).
    volume_mm3
        A segmented volume; preferred over the diameters when given.
    """

    study_instance_uid: str
    study_date: date
    diameters_mm: tuple[float, ...] = ()
    volume_mm3: float | None = None

    def row(self, days: float) -> list[float]:
        """Return the model's input row ``(days, d1, d2, d3, volume)``, 0 = not measured."""
        if len(self.diameters_mm) > 3 or any(d < 0 for d in self.diameters_mm):
            raise MeasurementError(f"Up to 3 non-negative diameters, got {self.diameters_mm}.")
        if not self.diameters_mm and not self.volume_mm3:
            raise MeasurementError(f"Study {self.study_instance_uid}: nothing was measured.")
        diameters = [*self.diameters_mm, 0.0, 0.0, 0.0][:3]
        return [days, *diameters, float(self.volume_mm3 or 0.0)]


@dataclass(frozen=True)
class DoublingTime:
    """The model's answer for one nodule (VDT in days; None when the volume did not change)."""

    volumes_mm3: tuple[float, ...]
    vdt_days: float | None
    recent_vdt_days: float | None
    fast_growth: float
    growing: float


def measurement_tensor(measurements: Sequence[NoduleMeasurement]) -> np.ndarray:
    """Return ``[1, T, 5]`` FP32 for one nodule, time-ordered, days from the first study."""
    ordered = sorted(measurements, key=lambda m: m.study_date)
    if len(ordered) < 2:
        raise MeasurementError("A doubling time needs the nodule measured on 2 or more studies.")
    dates = [m.study_date for m in ordered]
    if len(set(dates)) != len(dates):
        raise MeasurementError("Two measurements share a study date: keep one per study day.")
    rows = [m.row(float((m.study_date - dates[0]).days)) for m in ordered]
    return np.asarray([rows], dtype=np.float32)


def run(client: InferenceClient, measurements: Sequence[NoduleMeasurement]) -> DoublingTime:
    """Compute one nodule's doubling time on Triton."""
    tensor = measurement_tensor(measurements)
    answer = client.infer(MODEL_NAME, MODEL_VERSION, {INPUT_NAME: tensor}, OUTPUT_NAMES)
    steps = tensor.shape[1]
    expected = {"VOLUMES_MM3": (1, steps), "VDT_DAYS": (1, 2), "GROWTH": (1, 2)}
    for name, shape in expected.items():
        if answer[name].shape != shape:
            raise ModelContractError(
                f"{MODEL_NAME} v{MODEL_VERSION} returned {name} of shape {answer[name].shape}, "
                f"expected {shape}."
            )
    vdt = answer["VDT_DAYS"][0]
    if np.isnan(vdt).any():  # the model found the row unusable although it passed our checks
        raise ModelContractError(
            f"{MODEL_NAME} v{MODEL_VERSION} gave no doubling time for measurements "
            f"{tensor[0].tolist()}: the model and this pipeline disagree on what is valid."
        )
    return DoublingTime(
        volumes_mm3=tuple(float(v) for v in answer["VOLUMES_MM3"][0]),
        vdt_days=_finite(vdt[0]),
        recent_vdt_days=_finite(vdt[1]),
        fast_growth=float(answer["GROWTH"][0, 0]),
        growing=float(answer["GROWTH"][0, 1]),
    )


def _finite(value: float) -> float | None:
    return float(value) if math.isfinite(float(value)) else None


def postprocess(
    measurements: Sequence[NoduleMeasurement], result: DoublingTime, *, nodule: str
) -> FindingDraft:
    """Turn one nodule's doubling time into its finding, with every input in the detail."""
    ordered = sorted(measurements, key=lambda m: m.study_date)
    detail: dict[str, object] = {
        "model": {"name": MODEL_NAME, "version": MODEL_VERSION},
        "nodule": nodule,
        "formula": "VDT = t * ln 2 / ln(V2 / V1) (Schwartz)",
        "vdt_days": _rounded(result.vdt_days),
        "recent_vdt_days": _rounded(result.recent_vdt_days),
        "growing": round(result.growing, 4),
        "inputs": [
            {
                "study_instance_uid": m.study_instance_uid,
                "study_date": m.study_date.isoformat(),
                "diameters_mm": list(m.diameters_mm),
                "measured_volume_mm3": m.volume_mm3,
                "volume_used_mm3": round(volume, 1),
            }
            for m, volume in zip(ordered, result.volumes_mm3, strict=True)
        ],
    }
    if result.fast_growth >= FAST_GROWTH_THRESHOLD:
        days = f"{result.vdt_days:.0f}"
        return FindingDraft(
            code="lung-nodule-vdt-malignant-range",
            label_en=f"Lung nodule {nodule}: doubling time {days} days "
            f"(< {MALIGNANT_VDT_DAYS}, malignant range)",
            label_zh=f"肺结节 {nodule}：体积倍增时间 {days} 天"
            f"（< {MALIGNANT_VDT_DAYS} 天，恶性范围）",
            score=1.0,
            severity="significant",
            detail=detail,
        )
    if result.vdt_days is None:
        shown_en, shown_zh = "no volume change", "体积无变化"
    else:
        shown_en, shown_zh = f"{result.vdt_days:.0f} days", f"{result.vdt_days:.0f} 天"
    return FindingDraft(
        code="lung-nodule-vdt-not-malignant-range",
        label_en=f"Lung nodule {nodule}: doubling time {shown_en}",
        label_zh=f"肺结节 {nodule}：体积倍增时间 {shown_zh}",
        score=min(1.0, max(0.0, 1.0 - result.fast_growth)),
        severity="normal",
        detail=detail,
    )


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 1)
