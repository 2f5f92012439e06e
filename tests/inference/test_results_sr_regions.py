"""The collimated field as an image region of the image-quality SR: what OHIF needs to draw it.

OHIF (and other SR readers) draw a measurement group only when it carries an image region, so
the field the GSPS outlines is also a planar ROI group (TID 1410) with a closed POLYLINE on the
analysed image. dciodvfy is the independent validator; its errors fail the test.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import highdicom as hd
import numpy as np
import pydicom
import pytest

from inference.dicom import results_gsps, results_sr
from inference.dicom.writer import encode
from tests.inference.test_results_gsps import collimated_dx, field_of, quality_finding
from tests.inference.test_results_sr import ai_run, dciodvfy, source

pytestmark = pytest.mark.unit
SHAPE = (600, 500)


def report_of(finding: Any, image: pydicom.Dataset, folder: Path) -> Path:
    run = results_sr.AiRun(
        job_id=ai_run().job_id,
        model=results_sr.model_identity("image_quality", "1"),
        findings=[finding],
        measures=results_sr.measures_of([finding]),
    )
    path = folder / "sr.dcm"
    path.write_bytes(encode(results_sr.build_report(image, run)))
    return path


def test_the_field_is_a_polyline_region_on_the_analysed_dx_and_passes_dciodvfy(
    tmp_path: Path,
) -> None:
    image, field = collimated_dx(SHAPE)
    geometry = field_of(field, SHAPE)
    path = report_of(quality_finding(geometry, str(image.SOPInstanceUID)), image, tmp_path)

    errors, _warnings = dciodvfy(path)
    assert errors == [], "\n".join(errors)
    sr = hd.sr.srread(path)
    content: Any = sr.content
    (whole_image,) = content.get_image_measurement_groups()
    assert whole_image.source_images[0].referenced_sop_instance_uid == image.SOPInstanceUID
    (group,) = content.get_planar_roi_measurement_groups()
    # One tracked finding: OHIF merges groups by Tracking Unique Identifier (see results_sr).
    assert group.tracking_uid == whole_image.tracking_uid
    assert group.tracking_identifier == whole_image.tracking_identifier == "AI image_quality 1"
    assert group.finding_type.value == "collimation-field"
    region = group.roi
    assert region.graphic_type == hd.sr.GraphicTypeValues.POLYLINE
    (selected_from,) = region.ContentSequence
    referenced = selected_from.ReferencedSOPSequence[0]
    assert referenced.ReferencedSOPInstanceUID == image.SOPInstanceUID
    assert referenced.ReferencedSOPClassUID == image.SOPClassUID
    # The very polygon the GSPS draws: the field's corners in pixels, closed.
    truth = np.clip(field.corners(SHAPE), 0.0, 1.0) * np.array([SHAPE[1], SHAPE[0]])
    points = np.asarray(region.value, dtype=np.float64)
    assert points.shape == (5, 2)
    np.testing.assert_allclose(points[:4], truth, atol=0.01)  # detail keeps 5 decimals
    np.testing.assert_allclose(points[4], points[0])
    measures = {m.name.value: (m.value, m.unit.value) for m in group.get_measurements()}
    assert measures == {
        "field-area-share": (pytest.approx(52.0), "%"),
        "field-tilt": (pytest.approx(field.tilt_deg, abs=0.01), "deg"),
    }
    gsps = results_gsps.build_presentation_state(
        image,
        results_sr.AiRun(ai_run().job_id, ai_run().model, [quality_finding(geometry, "")], {}),
        results_gsps.outlines_of([quality_finding(geometry, "")], image),
    )
    drawn = gsps.GraphicAnnotationSequence[0].GraphicObjectSequence[0].GraphicData
    np.testing.assert_allclose(np.reshape(drawn, (-1, 2)), points, atol=1e-3)


def test_a_whole_image_field_or_one_on_another_image_adds_no_region(tmp_path: Path) -> None:
    image, field = collimated_dx(SHAPE)
    whole = field_of(field, SHAPE, sides=())
    elsewhere = field_of(field, SHAPE)
    for n, finding in enumerate(
        [quality_finding(whole, str(image.SOPInstanceUID)), quality_finding(elsewhere, "1.2.3.4")]
    ):
        folder = tmp_path / str(n)
        folder.mkdir()
        sr = hd.sr.srread(report_of(finding, image, folder))
        content: Any = sr.content
        assert len(content.get_image_measurement_groups()) == 1
        assert content.get_planar_roi_measurement_groups() == []


def test_other_models_reports_keep_their_one_group(tmp_path: Path) -> None:
    sr = hd.sr.srread(report_of(ai_run().findings[0], source("CT_small.dcm"), tmp_path))
    content: Any = sr.content
    assert len(content.get_image_measurement_groups()) == 1
    assert content.get_planar_roi_measurement_groups() == []
