"""The image_quality model's collimation and tilt measures, on a real Triton.

Synthetic radiographs carry a field whose box and tilt are known exactly
(``collimated_radiographs``), with real pydicom images as the anatomy; pydicom's own images,
none of them collimated, check that nothing is found where there is nothing. Errors are printed
(``pytest -s``) as the figures of the measure.
"""

from __future__ import annotations

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file

from inference.pipelines import image_quality as pipeline
from inference.triton.port import InferenceClient
from tests.inference.collimated_radiographs import Field, anatomy_from, collimate, dx_dataset

pytestmark = pytest.mark.integration

GRID = (256, 256)
ALL_SIDES = ("left", "top", "right", "bottom")
# (centre x, y), (half width, half height), tilt: all in pixels of the 256 grid, degrees.
FIELDS = [
    Field((128.0, 128.0), (90.0, 100.0), 0.0),
    Field((120.0, 135.0), (80.0, 95.0), 4.0),
    Field((130.0, 125.0), (95.0, 85.0), -7.5),
    Field((128.0, 128.0), (70.0, 110.0), 12.0),
    Field((100.0, 140.0), (60.0, 70.0), 2.0),
    Field((140.0, 118.0), (100.0, 90.0), -1.3),
]
ANATOMIES = ["examples_overlay.dcm", "CT_small.dcm", "693_J2KI.dcm"]


def pixels(name: str) -> np.ndarray:
    path = get_testdata_file(name)
    assert path is not None, f"pydicom test file {name} is not installed"
    return np.asarray(pydicom.dcmread(path).pixel_array, dtype=np.float64)


def box_error_px(
    result: pipeline.QualityResult, truth: np.ndarray, shape: tuple[int, int]
) -> float:
    """Return the largest box-edge error in pixels of an image of ``shape``."""
    assert result.field is not None
    scale = np.array([shape[1], shape[0], shape[1], shape[0]], dtype=np.float64)
    return float(np.max(np.abs(np.array(result.field.box) - truth) * scale))


@pytest.mark.parametrize("anatomy", ANATOMIES)
def test_known_fields_are_found_within_a_pixel_and_a_degree(
    triton_client: InferenceClient, anatomy: str
) -> None:
    body = anatomy_from(pixels(anatomy), GRID)
    images = np.stack([collimate(body, field, seed=i) for i, field in enumerate(FIELDS)])

    results = pipeline.assess_images(triton_client, images)

    box_errors, tilt_errors = [], []
    for field, result in zip(FIELDS, results, strict=True):
        assert result.field is not None
        assert result.field.sides == ALL_SIDES, (field, result.field)
        box_errors.append(box_error_px(result, field.box(GRID), GRID))
        tilt_errors.append(abs(result.field.tilt_deg - field.tilt_deg))
        corners = np.array(result.field.corners) * np.array(GRID[::-1])
        truth = field.corners(GRID) * np.array(GRID[::-1])
        assert np.max(np.abs(corners - truth)) < 1.5
    print(
        f"\n{anatomy}: box error max {max(box_errors):.3f} px, mean {np.mean(box_errors):.3f} px"
        f" (256 grid); tilt error max {max(tilt_errors):.3f} deg, "
        f"mean {np.mean(tilt_errors):.3f} deg (n={len(FIELDS)})"
    )
    assert max(box_errors) < 1.0
    assert max(tilt_errors) < 0.5


def test_tilt_penalty_follows_the_angle(triton_client: InferenceClient) -> None:
    body = anatomy_from(pixels("examples_overlay.dcm"), GRID)
    tilts = [0.0, 2.0, 6.0, 12.0]
    images = np.stack([collimate(body, Field((128, 128), (90, 95), t)) for t in tilts])

    penalties = [r.penalties["tilt"] for r in pipeline.assess_images(triton_client, images)]

    assert penalties[0] == penalties[1] == 0.0  # within a few degrees is fine
    assert 0.3 < penalties[2] < 0.6
    assert penalties[3] == 1.0


def test_field_open_to_two_sides_is_found_on_the_other_two(
    triton_client: InferenceClient,
) -> None:
    body = anatomy_from(pixels("CT_small.dcm"), GRID)
    field = Field((128.0, 128.0), (200.0, 80.0), 1.5)  # wider than the image

    (result,) = pipeline.assess_images(triton_client, collimate(body, field)[None])

    assert result.field is not None
    assert result.field.sides == ("top", "bottom")
    x0, y0, x1, y1 = result.field.box
    assert (x0, x1) == (0.0, 1.0)
    # Inside the image the field runs from the higher end of its top edge to the lower end
    # of its bottom edge (the corners themselves lie outside the image).
    tl, tr, br, bl = field.corners(GRID)
    top = np.interp([0.0, 1.0], [tl[0], tr[0]], [tl[1], tr[1]])
    bottom = np.interp([0.0, 1.0], [bl[0], br[0]], [bl[1], br[1]])
    assert abs(y0 - top.min()) * 256 < 1.0 and abs(y1 - bottom.max()) * 256 < 1.0
    assert abs(result.field.tilt_deg - 1.5) < 0.5


def test_a_field_cut_through_the_anatomy_is_too_tight(triton_client: InferenceClient) -> None:
    """examples_overlay is an abdomen in air: a wide field ends in air, a tight one cuts it."""
    body = anatomy_from(pixels("examples_overlay.dcm"), GRID)
    generous = collimate(body, Field((128.0, 128.0), (122.0, 122.0), 0.0))
    tight = collimate(body, Field((128.0, 128.0), (60.0, 60.0), 0.0))

    wide, narrow = pipeline.assess_images(triton_client, np.stack([generous, tight]))
    print(
        f"\nedge anatomy: generous field {wide.field and wide.field.edge_anatomy:.2f}, "
        f"tight field {narrow.field and narrow.field.edge_anatomy:.2f}"
    )

    assert wide.field is not None and narrow.field is not None
    assert wide.field.sides == narrow.field.sides == ALL_SIDES
    assert wide.field.edge_anatomy < 0.5 < narrow.field.edge_anatomy
    assert wide.penalties["collimation"] == 0.0
    assert narrow.penalties["collimation"] > 0.5
    assert "collimation" in narrow.reasons
    assert narrow.retake_score >= pipeline.RETAKE_THRESHOLD > wide.retake_score


@pytest.mark.parametrize(
    "name", ["MR_small.dcm", "CT_small.dcm", "examples_overlay.dcm", "JPEG2000.dcm", "693_J2KI.dcm"]
)
def test_uncollimated_real_images_have_the_whole_image_as_field(
    triton_client: InferenceClient, name: str
) -> None:
    path = get_testdata_file(name)
    assert path is not None

    (result,) = pipeline.run(triton_client, [pydicom.dcmread(path)])

    assert result.field is not None
    assert result.field.sides == ()
    assert result.field.box == (0.0, 0.0, 1.0, 1.0)
    assert result.field.fraction == pytest.approx(1.0)
    assert result.field.tilt_deg == 0.0
    assert result.penalties["collimation"] == pytest.approx(0.1)  # allowed, not good practice
    assert result.penalties["tilt"] == 0.0


def test_a_non_square_radiograph_reports_its_own_coordinates_and_angle(
    triton_client: InferenceClient,
) -> None:
    """600 x 500 pixels squeezed to 256 x 256: the box and tilt are the image's own."""
    shape = (600, 500)
    body = anatomy_from(pixels("examples_overlay.dcm"), shape)
    field = Field((240.0, 310.0), (170.0, 230.0), 5.0)
    dataset = dx_dataset(collimate(body, field))

    (result,) = pipeline.run(triton_client, [dataset])

    assert result.field is not None and result.field.sides == ALL_SIDES
    assert result.sop_instance_uid == dataset.SOPInstanceUID
    box_error = box_error_px(result, field.box(shape), shape)
    tilt_error = abs(result.field.tilt_deg - field.tilt_deg)
    print(f"\n600x500 DX: box error {box_error:.2f} px, tilt error {tilt_error:.3f} deg")
    assert box_error < 3.0  # the model sees 256 x 256: one grid pixel is ~2.3 image pixels
    assert tilt_error < 0.5
    [finding] = pipeline.postprocess([result])
    stored = pipeline.FieldGeometry.of_detail(finding.detail["images"][0]["field"])  # type: ignore[index]
    assert stored is not None and stored.sides == ALL_SIDES
    assert stored.box == pytest.approx(result.field.box, abs=1e-4)


def test_a_shutter_masked_black_is_found_where_it_meets_anatomy(
    triton_client: InferenceClient,
) -> None:
    """DR consoles often paint the shutter black: the edge shows wherever anatomy meets it."""
    body = anatomy_from(pixels("examples_overlay.dcm"), GRID)
    field = Field((100.0, 140.0), (60.0, 70.0), 2.0)  # inside the body on every side

    (result,) = pipeline.assess_images(
        triton_client, collimate(body, field, shadow_level=0.0)[None]
    )

    assert result.field is not None and result.field.sides == ALL_SIDES
    assert box_error_px(result, field.box(GRID), GRID) < 1.0
    assert abs(result.field.tilt_deg - field.tilt_deg) < 0.5
