"""The pixel pipeline driven by a manifest's ``input.preprocessing`` (docs/models.md).

The shipped manifests must produce exactly what their hand-written pipelines feed the models.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset

from inference.dicom.decode import PixelDataError, decode_frames
from inference.dicom.input_spec import InputSpecError
from inference.dicom.manifest_input import pipeline_from_manifest, prepare_from_manifest
from inference.dicom.volume import GeometryError
from inference.pipelines import chest_xray, image_quality
from services.model_registry.manifest import InputSpec as ManifestInputSpec
from services.model_registry.manifest import load_manifest
from tests.inference.test_volume import ct_series

pytestmark = pytest.mark.unit
MODELS = Path(image_quality.__file__).resolve().parents[1] / "models"


def read(name: str) -> Dataset:
    path = get_testdata_file(name)
    assert path is not None
    return pydicom.dcmread(path)


def section(**fields: Any) -> ManifestInputSpec:
    return ManifestInputSpec.model_validate({"tensor": "IMAGE", "datatype": "FP32", **fields})


@pytest.mark.parametrize(
    "name", ["CT_small.dcm", "MR_small.dcm", "dicomdirtests/77654033/CR1/6154"]
)
def test_image_quality_manifest_gives_the_pipeline_tensor(name: str):
    manifest = load_manifest(MODELS / "image_quality" / "manifest.yaml")
    ds = read(name)
    np.testing.assert_allclose(
        prepare_from_manifest(manifest.input, [ds]), image_quality.preprocess(ds), atol=1e-6
    )


def test_chest_xray_manifest_gives_the_pipeline_tensor_on_a_square_image():
    manifest = load_manifest(MODELS / "chest_xray_densenet" / "manifest.yaml")
    ds = read("MR_small.dcm")  # square: the pipeline's centre crop changes nothing
    tensor = prepare_from_manifest(manifest.input, [ds])
    assert tensor.shape == (1, 224, 224)
    np.testing.assert_allclose(tensor, chest_xray.preprocess(ds), atol=1e-3)


def test_a_measurement_model_takes_no_pixels():
    manifest = load_manifest(MODELS / "nodule_vdt" / "manifest.yaml")
    with pytest.raises(InputSpecError, match="takes no pixels"):
        prepare_from_manifest(manifest.input, [read("CT_small.dcm")])


class TestVolume:
    SECTION = {
        "shape": [1, 4, 64, 64],
        "preprocessing": [
            {"step": "volume"},
            {"step": "modality_lut"},
            {"step": "voi_window", "window": [40.0, 400.0]},
            {"step": "resize", "size": [4, 64, 64]},
            {"step": "normalize", "mode": "fixed", "range": [0.0, 1.0]},
        ],
    }

    def test_series_becomes_a_windowed_resampled_volume(self):
        tensor = prepare_from_manifest(section(**self.SECTION), ct_series(8))
        assert tensor.shape == (1, 4, 64, 64)
        assert 0.0 <= tensor.min() < tensor.max() <= 1.0

    def test_inconsistent_geometry_is_a_pixel_error(self):
        slices = ct_series(6, shuffle=False)
        del slices[2]
        with pytest.raises(GeometryError, match="Uneven slice gaps"):
            prepare_from_manifest(section(**self.SECTION), slices)
        assert issubclass(GeometryError, PixelDataError)  # the runner fails such jobs for good


class TestSteps:
    def test_middle_frame_of_a_multiframe_object(self):
        fields = {
            "shape": [240, 320],
            "preprocessing": [{"step": "middle_frame"}, {"step": "to_grayscale"}],
        }
        ds = read("examples_ybr_color.dcm")  # 30 frames
        tensor = prepare_from_manifest(section(**fields), [ds])
        luma = decode_frames(ds, index=15)[0].astype(np.float64) @ [0.299, 0.587, 0.114] / 255
        np.testing.assert_allclose(tensor, luma, atol=1e-5)

    def test_zscore_and_clip(self):
        fields = {
            "shape": [64, 64],
            "preprocessing": [
                {"step": "normalize", "mode": "zscore"},
                {"step": "clip", "range": [-2.0, 2.0]},
            ],
        }
        tensor = prepare_from_manifest(section(**fields), [read("MR_small.dcm")])
        assert tensor.min() >= -2.0
        assert tensor.max() <= 2.0
        assert abs(float(tensor.mean())) < 0.2

    def test_minmax_spreads_over_the_range(self):
        fields = {
            "shape": [3, 32, 32],
            "preprocessing": [{"step": "resize", "size": [32, 32]},
                              {"step": "normalize", "mode": "minmax", "range": [-1.0, 1.0]}],
        }  # fmt: skip
        tensor = prepare_from_manifest(section(**fields), [read("SC_rgb_rle.dcm")])
        assert tensor.shape == (3, 32, 32)
        assert tensor.min() == pytest.approx(-1.0)
        assert tensor.max() == pytest.approx(1.0)

    def test_resize_disagreeing_with_the_shape_is_refused(self):
        fields = {"shape": [256, 256], "preprocessing": [{"step": "resize", "size": [224, 224]}]}
        with pytest.raises(InputSpecError, match=r"resize size \[224, 224\] differs"):
            pipeline_from_manifest(section(**fields))

    def test_dynamic_size_is_refused(self):
        fields = {"shape": [-1, 256], "preprocessing": [{"step": "first_frame"}]}
        with pytest.raises(InputSpecError, match="give 2 fixed sizes"):
            pipeline_from_manifest(section(**fields))
