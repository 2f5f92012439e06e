"""Radiograph image quality: DICOM -> Triton ``image_quality`` model -> retake finding.

The model (``inference/models/image_quality``) measures exposure, contrast, clipping and noise
and combines them into a retake score; its thresholds are documented in its ``model.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from pydicom.dataset import Dataset

from inference.dicom.pixels import radiograph_image, resize
from inference.pipelines.findings import FindingDraft
from inference.triton.port import InferenceClient, ModelContractError

MODEL_NAME = "image_quality"
MODEL_VERSION = "1"
INPUT_NAME = "IMAGE"
INPUT_SHAPE = (256, 256)
MAX_BATCH_SIZE = 8  # config.pbtxt max_batch_size
OUTPUT_NAMES = ["MEASURES", "PENALTIES", "RETAKE_SCORE"]
MEASURE_NAMES = (
    "exposure",
    "contrast",
    "rms_contrast",
    "clipped_low",
    "clipped_high",
    "noise",
    "dynamic_range",
)
PENALTY_NAMES = ("under_exposure", "over_exposure", "clipping", "low_contrast", "noise")
# A retake is suggested from 0.5 on: one problem more likely than not, or several moderate ones.
RETAKE_THRESHOLD = 0.5
# A penalty from this value on is listed as a reason for the retake.
REASON_THRESHOLD = 0.5


@dataclass(frozen=True)
class QualityResult:
    """The model's answer for one image, in the order the images were given."""

    retake_score: float
    measures: dict[str, float]
    penalties: dict[str, float]

    @property
    def reasons(self) -> tuple[str, ...]:
        """Return the penalties that crossed ``REASON_THRESHOLD``, worst first."""
        hits = [
            (value, name) for name, value in self.penalties.items() if value >= REASON_THRESHOLD
        ]
        return tuple(name for _, name in sorted(hits, reverse=True))


def preprocess(ds: Dataset) -> np.ndarray:
    """Return the model input for one radiograph: float32 ``[256, 256]`` in 0..1.

    The display window is kept (not percentile-normalised): normalising each image to its own
    range would erase the under- and over-exposure the model is there to detect.

    Raises
    ------
    inference.dicom.pixels.PixelDataError
        If the dataset has no decodable pixel data.
    """
    return resize(radiograph_image(ds, normalization="window"), INPUT_SHAPE)


def run(client: InferenceClient, datasets: Sequence[Dataset]) -> list[QualityResult]:
    """Assess each dataset's first frame, in batched requests; results keep the input order."""
    if not datasets:
        return []
    return assess_images(client, np.stack([preprocess(ds) for ds in datasets]))


def assess_images(client: InferenceClient, images: np.ndarray) -> list[QualityResult]:
    """Assess preprocessed images ``[n, 256, 256]`` with up to ``MAX_BATCH_SIZE`` per request."""
    results: list[QualityResult] = []
    for start in range(0, images.shape[0], MAX_BATCH_SIZE):
        chunk = np.ascontiguousarray(images[start : start + MAX_BATCH_SIZE], dtype=np.float32)
        answer = client.infer(MODEL_NAME, MODEL_VERSION, {INPUT_NAME: chunk}, OUTPUT_NAMES)
        results.extend(_parse(answer, chunk.shape[0]))
    return results


def _parse(answer: dict[str, np.ndarray], rows: int) -> list[QualityResult]:
    measures, penalties = answer["MEASURES"], answer["PENALTIES"]
    retake = answer["RETAKE_SCORE"].reshape(-1)
    expected = {
        "MEASURES": (rows, len(MEASURE_NAMES)),
        "PENALTIES": (rows, len(PENALTY_NAMES)),
    }
    for name, shape in expected.items():
        if answer[name].shape != shape:
            raise ModelContractError(
                f"{MODEL_NAME} v{MODEL_VERSION} returned {name} of shape {answer[name].shape}, "
                f"expected {shape}."
            )
    return [
        QualityResult(
            retake_score=float(retake[row]),
            measures=dict(zip(MEASURE_NAMES, map(float, measures[row]), strict=True)),
            penalties=dict(zip(PENALTY_NAMES, map(float, penalties[row]), strict=True)),
        )
        for row in range(rows)
    ]


def postprocess(results: Sequence[QualityResult]) -> list[FindingDraft]:
    """Turn the per-image results of one study into its one quality finding.

    The worst image decides: a single unusable view is enough to call the patient back.
    Quality is never ``critical``; that severity is kept for clinical urgency.
    """
    if not results:
        return []
    worst_index = max(range(len(results)), key=lambda index: results[index].retake_score)
    worst = results[worst_index]
    detail: dict[str, object] = {
        "model": {"name": MODEL_NAME, "version": MODEL_VERSION},
        "retake_threshold": RETAKE_THRESHOLD,
        "retake_score": round(worst.retake_score, 4),
        "worst_image_index": worst_index,
        "reasons": list(worst.reasons),
        "images": [_image_detail(result) for result in results],
    }
    if worst.retake_score >= RETAKE_THRESHOLD:
        finding = FindingDraft(
            code="image-quality-retake",
            label_en="Image quality: retake suggested",
            label_zh="图像质量不佳：建议重拍",
            score=_unit(worst.retake_score),
            severity="significant",
            detail=detail,
        )
    else:
        finding = FindingDraft(
            code="image-quality-adequate",
            label_en="Image quality adequate",
            label_zh="图像质量合格",
            score=_unit(1.0 - worst.retake_score),  # confidence that no retake is needed
            severity="normal",
            detail=detail,
        )
    return [finding]


def _image_detail(result: QualityResult) -> dict[str, object]:
    return {
        "retake_score": round(result.retake_score, 4),
        "reasons": list(result.reasons),
        "measures": {name: round(value, 4) for name, value in result.measures.items()},
    }


def _unit(value: float) -> float:
    return min(1.0, max(0.0, value))
