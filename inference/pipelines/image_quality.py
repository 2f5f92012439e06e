"""Radiograph image quality: DICOM -> Triton ``image_quality`` model -> retake finding.

The model (``inference/models/image_quality``) measures exposure, contrast, clipping and noise,
finds the exposed (collimated) field and its tilt, and combines them into a retake score; its
thresholds are documented in its ``model.py``. The field is a localized result: each image's
detail carries it (normalised to the image), and the result follow-up draws it on the image as a
presentation state (``inference.dicom.results_gsps``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
from pydicom.dataset import Dataset

from inference.dicom.pixels import radiograph_image, resize
from inference.pipelines.findings import FindingDraft
from inference.triton.port import InferenceClient, ModelContractError

MODEL_NAME = "image_quality"
MODEL_VERSION = "1"
INPUT_NAME = "IMAGE"
INPUT_SHAPE = (256, 256)
MAX_BATCH_SIZE = 8  # manifest.yaml triton.max_batch_size (the generated config.pbtxt)
OUTPUT_NAMES = [
    "MEASURES",
    "PENALTIES",
    "RETAKE_SCORE",
    "FIELD_BOX",
    "FIELD_CORNERS",
    "FIELD_SIDES",
    "FIELD_MEASURES",
    "TILT_DEG",
    "GEOMETRY_PENALTIES",
]
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
GEOMETRY_PENALTY_NAMES = ("collimation", "tilt")
FIELD_MEASURE_NAMES = ("field_fraction", "edge_anatomy")
SIDE_NAMES = ("left", "top", "right", "bottom")
# A retake is suggested from 0.5 on: one problem more likely than not, or several moderate ones.
RETAKE_THRESHOLD = 0.5
# A penalty from this value on is listed as a reason for the retake.
REASON_THRESHOLD = 0.5


@dataclass(frozen=True)
class FieldGeometry:
    """The exposed field of one image, in that image's own coordinates normalised to 0..1.

    ``x`` runs along the columns and ``y`` down the rows, so the values hold for the stored
    image whatever size the model saw. ``tilt_deg`` is clockwise on screen and measured in the
    image's physical plane (pixel aspect and spacing taken into account).
    """

    box: tuple[float, float, float, float]  # x0, y0, x1, y1
    corners: tuple[tuple[float, float], ...]  # top-left, top-right, bottom-right, bottom-left
    sides: tuple[str, ...]  # the sides where a collimator edge was found
    fraction: float
    edge_anatomy: float
    tilt_deg: float

    @property
    def collimated(self) -> bool:
        """Return whether any collimator edge was found (else the field is the whole image)."""
        return bool(self.sides)

    def as_detail(self) -> dict[str, object]:
        """Return the field as JSON for a finding's detail (read back by ``of_detail``)."""
        return {
            "box": [round(v, 5) for v in self.box],
            "corners": [[round(x, 5), round(y, 5)] for x, y in self.corners],
            "sides": list(self.sides),
            "fraction": round(self.fraction, 4),
            "edge_anatomy": round(self.edge_anatomy, 4),
            "tilt_deg": round(self.tilt_deg, 3),
        }

    @classmethod
    def of_detail(cls, detail: object) -> FieldGeometry | None:
        """Return the field stored by ``as_detail``, or None if ``detail`` is not one."""
        if not isinstance(detail, dict):
            return None
        try:
            box = tuple(float(v) for v in detail["box"])
            corners = tuple((float(x), float(y)) for x, y in detail["corners"])
            field = cls(
                box=box,  # type: ignore[arg-type]
                corners=corners,
                sides=tuple(str(side) for side in detail["sides"]),
                fraction=float(detail["fraction"]),
                edge_anatomy=float(detail["edge_anatomy"]),
                tilt_deg=float(detail["tilt_deg"]),
            )
        except (KeyError, TypeError, ValueError):
            return None
        values = [*field.box, *(v for corner in field.corners for v in corner), field.tilt_deg]
        if len(box) != 4 or len(corners) != 4 or not all(map(math.isfinite, values)):
            return None
        return field


@dataclass(frozen=True)
class QualityResult:
    """The model's answer for one image, in the order the images were given."""

    retake_score: float
    measures: dict[str, float]
    penalties: dict[str, float]
    field: FieldGeometry | None = None
    sop_instance_uid: str = ""  # the image assessed, when it came from a dataset

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


def physical_size(ds: Dataset) -> tuple[float, float]:
    """Return the (width, height) of a dataset's image in physical units, for its aspect.

    Uses Imager Pixel Spacing or Pixel Spacing (row spacing, column spacing) when present and
    positive, else square pixels.
    """
    rows, cols = int(ds.get("Rows", 1) or 1), int(ds.get("Columns", 1) or 1)
    for keyword in ("ImagerPixelSpacing", "PixelSpacing"):
        spacing = ds.get(keyword)
        try:
            row_mm, col_mm = (float(v) for v in spacing)
        except (TypeError, ValueError):
            continue
        if row_mm > 0 and col_mm > 0:
            return cols * col_mm, rows * row_mm
    return float(cols), float(rows)


def run(client: InferenceClient, datasets: Sequence[Dataset]) -> list[QualityResult]:
    """Assess each dataset's first frame, in batched requests; results keep the input order."""
    if not datasets:
        return []
    results = assess_images(
        client,
        np.stack([preprocess(ds) for ds in datasets]),
        sizes=[physical_size(ds) for ds in datasets],
    )
    return [
        replace(result, sop_instance_uid=str(ds.get("SOPInstanceUID", "")))
        for result, ds in zip(results, datasets, strict=True)
    ]


def assess_images(
    client: InferenceClient,
    images: np.ndarray,
    *,
    sizes: Sequence[tuple[float, float]] | None = None,
) -> list[QualityResult]:
    """Assess preprocessed images ``[n, 256, 256]`` with up to ``MAX_BATCH_SIZE`` per request.

    ``sizes`` are the (width, height) of the original images (``physical_size``), used to turn
    the tilt seen on the square model grid into the image's own; square when not given.
    """
    results: list[QualityResult] = []
    for start in range(0, images.shape[0], MAX_BATCH_SIZE):
        chunk = np.ascontiguousarray(images[start : start + MAX_BATCH_SIZE], dtype=np.float32)
        answer = client.infer(MODEL_NAME, MODEL_VERSION, {INPUT_NAME: chunk}, OUTPUT_NAMES)
        chunk_sizes = sizes[start : start + chunk.shape[0]] if sizes else None
        results.extend(_parse(answer, chunk.shape[0], chunk_sizes))
    return results


_SHAPES = {
    "MEASURES": len(MEASURE_NAMES),
    "PENALTIES": len(PENALTY_NAMES),
    "RETAKE_SCORE": 1,
    "FIELD_BOX": 4,
    "FIELD_CORNERS": 8,
    "FIELD_SIDES": len(SIDE_NAMES),
    "FIELD_MEASURES": len(FIELD_MEASURE_NAMES),
    "TILT_DEG": 1,
    "GEOMETRY_PENALTIES": len(GEOMETRY_PENALTY_NAMES),
}


def _parse(
    answer: dict[str, np.ndarray], rows: int, sizes: Sequence[tuple[float, float]] | None
) -> list[QualityResult]:
    for name, width in _SHAPES.items():
        if answer[name].shape != (rows, width):
            raise ModelContractError(
                f"{MODEL_NAME} v{MODEL_VERSION} returned {name} of shape {answer[name].shape}, "
                f"expected {(rows, width)}."
            )
    results = []
    for row in range(rows):
        size = sizes[row] if sizes else (1.0, 1.0)
        penalties = dict(zip(PENALTY_NAMES, map(float, answer["PENALTIES"][row]), strict=True))
        geometry = map(float, answer["GEOMETRY_PENALTIES"][row])
        penalties.update(zip(GEOMETRY_PENALTY_NAMES, geometry, strict=True))
        results.append(
            QualityResult(
                retake_score=float(answer["RETAKE_SCORE"][row, 0]),
                measures=dict(zip(MEASURE_NAMES, map(float, answer["MEASURES"][row]), strict=True)),
                penalties=penalties,
                field=_field(answer, row, size),
            )
        )
    return results


def _field(answer: dict[str, np.ndarray], row: int, size: tuple[float, float]) -> FieldGeometry:
    corners = answer["FIELD_CORNERS"][row].astype(np.float64).reshape(4, 2)
    found = answer["FIELD_SIDES"][row] > 0.5
    sides = tuple(name for name, edge in zip(SIDE_NAMES, found, strict=True) if edge)
    fraction, anatomy = map(float, answer["FIELD_MEASURES"][row])
    x0, y0, x1, y1 = map(float, answer["FIELD_BOX"][row])
    return FieldGeometry(
        box=(x0, y0, x1, y1),
        corners=tuple((float(x), float(y)) for x, y in corners),
        sides=sides,
        fraction=fraction,
        edge_anatomy=anatomy,
        tilt_deg=image_tilt(corners, sides, size),
    )


# Each side's corners (indices into top-left, top-right, bottom-right, bottom-left), in the
# direction the side runs when the field is upright.
_SIDE_CORNERS = {"left": (0, 3), "top": (0, 1), "right": (1, 2), "bottom": (3, 2)}


def image_tilt(corners: np.ndarray, sides: Sequence[str], size: tuple[float, float]) -> float:
    """Return the mean angle of the collimated sides in the image plane, clockwise on screen.

    ``corners`` are normalised ``[4, 2]``; ``size`` the image's (width, height). The model's
    own ``TILT_DEG`` is measured on its square grid, which stretches angles of a non-square
    image; the corners, being points, survive the stretch and give the true angle.
    """
    scale = np.array(size, dtype=np.float64)
    angles = []
    for side in sides:
        start, end = (corners[i] * scale for i in _SIDE_CORNERS[side])
        dx, dy = end - start
        if side in ("top", "bottom"):
            angles.append(math.degrees(math.atan2(dy, dx)))
        else:
            angles.append(-math.degrees(math.atan2(dx, dy)))
    return float(np.mean(angles)) if angles else 0.0


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
    detail: dict[str, object] = {
        "retake_score": round(result.retake_score, 4),
        "reasons": list(result.reasons),
        "measures": {name: round(value, 4) for name, value in result.measures.items()},
    }
    if result.field is not None:
        detail["field"] = result.field.as_detail()
    if result.sop_instance_uid:
        detail["sop_instance_uid"] = result.sop_instance_uid
    return detail


def _unit(value: float) -> float:
    return min(1.0, max(0.0, value))
