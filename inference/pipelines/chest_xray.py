"""Chest radiograph -> DenseNet-121 (TorchXRayVision format) on Triton -> findings per label.

Preprocessing follows TorchXRayVision: the displayed image (modality LUT, VOI window,
MONOCHROME1 inverted), cropped to its centred square, resized to 224 x 224 and scaled to
-1024..1024. Labels with a SNOMED CT concept become findings at probability >= 0.5; the
others are kept in the detail. Which weights run decides what the scores mean: with the
randomly initialised weights of the tests they mean nothing, and the manifest is research-only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from pydicom.dataset import Dataset

from inference.dicom.input_spec import InputSpec, prepare_unit_image
from inference.dicom.pixels import radiograph_image
from inference.models.densenet_onnx import TXV_LABELS
from inference.pipelines.findings import FindingDraft
from inference.triton.port import InferenceClient, ModelContractError

MODEL_NAME = "chest_xray_densenet"
MODEL_VERSION = "1"
INPUT_NAME = "IMAGE"
OUTPUT_NAME = "PROBABILITIES"
MAX_BATCH_SIZE = 8
THRESHOLD = 0.5
SPEC = InputSpec(shape=(224, 224), channels=1, value_range=(-1024.0, 1024.0))


@dataclass(frozen=True)
class Label:
    """One output of the classifier as a reader sees it."""

    name: str  # TorchXRayVision's label
    code: str
    en: str
    zh: str
    snomed: str | None  # None: reported in the detail only


LABELS = (
    Label("Atelectasis", "cxr-atelectasis", "Atelectasis", "肺不张", "46621007"),
    Label("Consolidation", "cxr-consolidation", "Consolidation", "肺实变", "95436008"),
    Label("Infiltration", "cxr-infiltration", "Infiltration", "浸润影", None),
    Label("Pneumothorax", "cxr-pneumothorax", "Pneumothorax", "气胸", "36118008"),
    Label("Edema", "cxr-edema", "Pulmonary edema", "肺水肿", "19242006"),
    Label("Emphysema", "cxr-emphysema", "Emphysema", "肺气肿", "87433001"),
    Label("Fibrosis", "cxr-fibrosis", "Pulmonary fibrosis", "肺纤维化", "51615001"),
    Label("Effusion", "cxr-pleural-effusion", "Pleural effusion", "胸腔积液", "60046008"),
    Label("Pneumonia", "cxr-pneumonia", "Pneumonia", "肺炎", "233604007"),
    Label("Pleural_Thickening", "cxr-pleural-thickening", "Pleural thickening", "胸膜增厚", None),
    Label("Cardiomegaly", "cxr-cardiomegaly", "Cardiomegaly", "心影增大", "8186001"),
    Label("Nodule", "cxr-nodule", "Nodule", "结节", "27925004"),
    Label("Mass", "cxr-mass", "Mass", "肿块", "4147007"),
    Label("Hernia", "cxr-hiatal-hernia", "Hiatal hernia", "食管裂孔疝", "84089009"),
    Label("Lung Lesion", "cxr-lung-lesion", "Lung lesion", "肺部病变", None),
    Label("Fracture", "cxr-fracture", "Fracture", "骨折", "125605004"),
    Label("Lung Opacity", "cxr-lung-opacity", "Lung opacity", "肺部阴影", None),
    Label(
        "Enlarged Cardiomediastinum",
        "cxr-enlarged-cardiomediastinum",
        "Enlarged cardiomediastinum",
        "心纵隔增宽",
        None,
    ),
)
if tuple(label.name for label in LABELS) != TXV_LABELS:  # the order the weights use
    raise ImportError("chest_xray.LABELS must follow TorchXRayVision's label order")


def preprocess(ds: Dataset) -> np.ndarray:
    """Return the model input for one radiograph: float32 ``[1, 224, 224]`` in -1024..1024."""
    unit = radiograph_image(ds, normalization="window")
    rows, cols = unit.shape
    side = min(rows, cols)
    top, left = (rows - side) // 2, (cols - side) // 2
    return prepare_unit_image(unit[top : top + side, left : left + side], SPEC)


def run(client: InferenceClient, datasets: Sequence[Dataset]) -> np.ndarray:
    """Return the probabilities ``[n, 18]`` of each radiograph, in input order."""
    if not datasets:
        return np.zeros((0, len(LABELS)), dtype=np.float32)
    return classify(client, np.stack([preprocess(ds) for ds in datasets]))


def classify(client: InferenceClient, images: np.ndarray) -> np.ndarray:
    """Classify preprocessed images ``[n, 1, 224, 224]``, up to ``MAX_BATCH_SIZE`` a request."""
    chunks = []
    for start in range(0, images.shape[0], MAX_BATCH_SIZE):
        chunk = np.ascontiguousarray(images[start : start + MAX_BATCH_SIZE], dtype=np.float32)
        answer = client.infer(MODEL_NAME, MODEL_VERSION, {INPUT_NAME: chunk}, [OUTPUT_NAME])
        probabilities = answer[OUTPUT_NAME]
        if probabilities.shape != (chunk.shape[0], len(LABELS)):
            raise ModelContractError(
                f"{MODEL_NAME} v{MODEL_VERSION} returned {OUTPUT_NAME} of shape "
                f"{probabilities.shape}, expected {(chunk.shape[0], len(LABELS))}."
            )
        chunks.append(probabilities.astype(np.float32))
    return np.concatenate(chunks)


def postprocess(probabilities: np.ndarray) -> list[FindingDraft]:
    """Turn one study's probabilities ``[images, 18]`` into findings (the highest image wins)."""
    if probabilities.size == 0:
        return []
    study = probabilities.max(axis=0)
    detail: dict[str, object] = {
        "model": {"name": MODEL_NAME, "version": MODEL_VERSION},
        "threshold": THRESHOLD,
        "probabilities": {lb.name: round(float(p), 4) for lb, p in zip(LABELS, study, strict=True)},
    }
    findings = [
        FindingDraft(
            code=label.code,
            label_en=label.en,
            label_zh=label.zh,
            score=float(np.clip(p, 0.0, 1.0)),
            severity="significant",
            detail={**detail, "snomed_ct": label.snomed},
        )
        for label, p in zip(LABELS, study, strict=True)
        if label.snomed is not None and p >= THRESHOLD
    ]
    if findings:
        return findings
    return [
        FindingDraft(
            code="cxr-no-labelled-finding",
            label_en="No finding above the threshold",
            label_zh="未见超过阈值的异常",
            score=float(np.clip(1.0 - study.max(), 0.0, 1.0)),
            severity="normal",
            detail=detail,
        )
    ]
