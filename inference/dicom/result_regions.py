"""Where on the analysed image a run's localized results lie, read once for the SR and the GSPS.

Both result objects must draw the same thing: the SR's image region (what OHIF and other SR
readers show) and the GSPS outline (what a PACS viewer overlays) come from these functions.
Today the one localized result is the image-quality model's exposed (collimated) field.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from pydicom.dataset import Dataset

from inference.pipelines.findings import FindingDraft
from inference.pipelines.image_quality import FieldGeometry


def fields_on(findings: Sequence[FindingDraft], source: Dataset) -> list[FieldGeometry]:
    """Return the collimated fields ``findings`` measured on the image ``source``.

    Reads the field the image-quality pipeline stores per image
    (``images[worst_image_index].field``). A field of the whole image (no collimator edge) is
    left out, and so is a field measured on another image than ``source``.
    """
    fields = []
    uid = str(source.get("SOPInstanceUID", ""))
    for finding in findings:
        images, index = finding.detail.get("images"), finding.detail.get("worst_image_index", 0)
        if not isinstance(images, list) or not isinstance(index, int):
            continue
        if not 0 <= index < len(images) or not isinstance(images[index], dict):
            continue
        image = images[index]
        if image.get("sop_instance_uid", uid) != uid:
            continue
        field = FieldGeometry.of_detail(image.get("field"))
        if field is not None and field.collimated:
            fields.append(field)
    return fields


def pixel_polygon(points: Sequence[tuple[float, float]], source: Dataset) -> np.ndarray:
    """Return normalised x, y ``points`` as a closed polyline in pixel units of ``source``.

    (0, 0) is the top-left corner of the first pixel, as both GSPS PIXEL annotation units and
    SR SCOORD image coordinates define it; points are clipped to the image.
    """
    size = np.array([float(source.Columns), float(source.Rows)])
    polygon = np.clip(np.array(points, dtype=np.float64), 0.0, 1.0) * size
    return np.vstack([polygon, polygon[:1]])
