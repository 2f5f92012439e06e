"""The AI presentation state (GSPS) of a localized result: valid per dciodvfy, on the right image.

Built over a synthetic collimated DX and over real pydicom images; dciodvfy (dicom3tools) is
the independent validator, its errors fail the test.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset

from inference.dicom import results_gsps, results_sr
from inference.dicom.writer import encode
from inference.pipelines.findings import FindingDraft
from inference.pipelines.image_quality import FieldGeometry
from services.contracts.ai_results import AI_RESULT_SERIES_DESCRIPTION, is_ai_result_series
from tests.inference.collimated_radiographs import Field, anatomy_from, collimate, dx_dataset
from tests.inference.test_results_sr import dciodvfy

pytestmark = pytest.mark.unit

SIDES = ("left", "top", "right", "bottom")


def collimated_dx(shape: tuple[int, int] = (600, 500)) -> tuple[Dataset, Field]:
    path = get_testdata_file("examples_overlay.dcm")
    assert path is not None
    body = anatomy_from(pydicom.dcmread(path).pixel_array, shape)
    field = Field((240.0, 310.0), (170.0, 230.0), 5.0)
    return dx_dataset(collimate(body, field)), field


def field_of(field: Field, shape: tuple[int, int], sides: tuple[str, ...] = SIDES) -> FieldGeometry:
    corners = field.corners(shape)
    x0, y0, x1, y1 = (float(v) for v in field.box(shape))
    return FieldGeometry(
        box=(x0, y0, x1, y1),
        corners=tuple((float(x), float(y)) for x, y in corners),
        sides=sides,
        fraction=0.52,
        edge_anatomy=0.7,
        tilt_deg=field.tilt_deg,
    )


def quality_finding(geometry: FieldGeometry, sop_instance_uid: str) -> FindingDraft:
    image = {"measures": {"exposure": 0.4}, "field": geometry.as_detail()}
    if sop_instance_uid:
        image["sop_instance_uid"] = sop_instance_uid
    return FindingDraft(
        code="image-quality-adequate",
        label_en="Image quality adequate",
        label_zh="图像质量合格",
        score=0.8,
        severity="normal",
        detail={"retake_score": 0.2, "worst_image_index": 0, "images": [image]},
    )


def run_of(finding: FindingDraft, job_id: uuid.UUID | None = None) -> results_sr.AiRun:
    return results_sr.AiRun(
        job_id=job_id or uuid.uuid4(),
        model=results_sr.model_identity("image_quality", "1"),
        findings=[finding],
        measures={},
    )


def build(image: Dataset, geometry: FieldGeometry, job_id: uuid.UUID | None = None) -> Dataset:
    finding = quality_finding(geometry, str(image.SOPInstanceUID))
    outlines = results_gsps.outlines_of([finding], image)
    return results_gsps.build_presentation_state(image, run_of(finding, job_id), outlines)


def saved(dataset: Dataset, folder: Path) -> Path:
    path = folder / "gsps.dcm"
    path.write_bytes(encode(dataset))
    return path


def test_gsps_over_a_collimated_dx_outlines_the_field_and_passes_dciodvfy(tmp_path: Path) -> None:
    image, field = collimated_dx()
    path = saved(build(image, field_of(field, (600, 500))), tmp_path)

    errors, _warnings = dciodvfy(path)
    assert errors == [], "\n".join(errors)
    gsps = pydicom.dcmread(path)
    assert gsps.SOPClassUID == "1.2.840.10008.5.1.4.1.1.11.1"  # Grayscale Softcopy PS
    assert (gsps.StudyInstanceUID, gsps.PatientID) == (image.StudyInstanceUID, image.PatientID)
    (series,) = gsps.ReferencedSeriesSequence
    assert series.SeriesInstanceUID == image.SeriesInstanceUID
    (referenced,) = series.ReferencedImageSequence
    assert referenced.ReferencedSOPInstanceUID == image.SOPInstanceUID
    (annotation,) = gsps.GraphicAnnotationSequence
    assert annotation.ReferencedImageSequence[0].ReferencedSOPInstanceUID == image.SOPInstanceUID
    (polyline,) = annotation.GraphicObjectSequence
    assert (polyline.GraphicType, polyline.GraphicAnnotationUnits) == ("POLYLINE", "PIXEL")
    points = np.array(polyline.GraphicData, dtype=np.float64).reshape(-1, 2)
    truth = np.clip(field.corners((600, 500)), 0.0, 1.0) * np.array([500.0, 600.0])
    np.testing.assert_allclose(points[:4], truth, atol=0.01)
    np.testing.assert_array_equal(points[4], points[0])  # closed
    (text,) = annotation.TextObjectSequence
    assert text.UnformattedTextValue.startswith("AI: collimation field")
    assert "tilt +5.0 deg" in text.UnformattedTextValue


def test_gsps_labels_itself_as_ai_output(tmp_path: Path) -> None:
    image, field = collimated_dx()
    gsps = pydicom.dcmread(saved(build(image, field_of(field, (600, 500))), tmp_path))

    assert gsps.Modality == "PR"
    assert gsps.SeriesDescription == AI_RESULT_SERIES_DESCRIPTION
    assert is_ai_result_series(gsps.Modality, gsps.SeriesDescription)  # ingest leaves it out
    assert gsps.Manufacturer == "RadBridge"
    assert gsps.ContentLabel == "AI"
    assert str(gsps.ContentCreatorName) == "AI^image_quality"
    assert gsps.ContentDescription == "AI image_quality 1; research-only; for reference"
    assert (gsps.ManufacturerModelName, gsps.SoftwareVersions) == ("image_quality", "1")
    (layer,) = gsps.GraphicLayerSequence
    assert layer.GraphicLayer == "AI" and "for reference only" in layer.GraphicLayerDescription


@pytest.mark.parametrize("name", ["CT_small.dcm", "MR_small.dcm", "JPEG2000.dcm"])
def test_gsps_over_real_pydicom_images_passes_dciodvfy(name: str, tmp_path: Path) -> None:
    path = get_testdata_file(name)
    assert path is not None
    image = pydicom.dcmread(path)
    shape = (int(image.Rows), int(image.Columns))
    field = Field((shape[1] / 2, shape[0] / 2), (shape[1] / 3, shape[0] / 3), -3.0)

    gsps_path = saved(build(image, field_of(field, shape)), tmp_path)

    errors, _warnings = dciodvfy(gsps_path)
    assert errors == [], "\n".join(errors)
    gsps = pydicom.dcmread(gsps_path)
    referenced = gsps.ReferencedSeriesSequence[0].ReferencedImageSequence[0]
    assert referenced.ReferencedSOPInstanceUID == image.SOPInstanceUID


def test_only_a_collimated_field_on_this_very_image_is_drawn() -> None:
    image, field = collimated_dx()
    geometry = field_of(field, (600, 500))
    whole_image = FieldGeometry((0.0, 0.0, 1.0, 1.0), ((0, 0), (1, 0), (1, 1), (0, 1)), (), 1, 0, 0)

    assert (
        len(results_gsps.outlines_of([quality_finding(geometry, image.SOPInstanceUID)], image)) == 1
    )
    assert len(results_gsps.outlines_of([quality_finding(geometry, "")], image)) == 1
    assert (
        results_gsps.outlines_of([quality_finding(whole_image, image.SOPInstanceUID)], image) == []
    )
    assert results_gsps.outlines_of([quality_finding(geometry, "1.2.3.4")], image) == []
    no_field = FindingDraft("x", "x", "x", 0.5, "normal", {"images": [{"measures": {}}]})
    assert results_gsps.outlines_of([no_field], image) == []
    with pytest.raises(results_sr.ResultObjectError, match="no localized result"):
        results_gsps.build_presentation_state(image, run_of(no_field), [])


def test_same_job_gives_the_same_uids_another_job_others() -> None:
    image, field = collimated_dx()
    geometry = field_of(field, (600, 500))
    job_id = uuid.uuid4()
    first, again, other = (
        build(image, geometry, job_id),
        build(image, geometry, job_id),
        build(image, geometry),
    )

    assert first.SOPInstanceUID == again.SOPInstanceUID != other.SOPInstanceUID
    assert first.SeriesInstanceUID == other.SeriesInstanceUID
    sr_uid, sr_series = results_sr.sr_uids(
        job_id, str(image.StudyInstanceUID), run_of(quality_finding(geometry, "")).model
    )
    assert first.SOPInstanceUID != sr_uid and first.SeriesInstanceUID != sr_series
