"""CT series -> volume, and volumes/images -> a model's input spec.

The series are pydicom's real ``CT_small.dcm`` copied slice by slice, each copy given its own
position along the slice normal (and its own values, so the order can be checked).
"""

from __future__ import annotations

import copy
import random

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid

from inference.dicom.input_spec import InputSpec, prepare_image, prepare_volume
from inference.dicom.volume import GeometryError, assemble_volume

pytestmark = pytest.mark.unit


def _testdata_path(name: str) -> str:
    path = get_testdata_file(name)
    assert isinstance(path, str), f"pydicom test file {name} is not installed"
    return path


CT = pydicom.dcmread(_testdata_path("CT_small.dcm"))  # 128x128, IOP axial-ish, HU -1024 +


def ct_series(count: int = 6, gap: float = 2.5, *, shuffle: bool = True) -> list[Dataset]:
    """Slices ``gap`` mm apart along CT_small's normal; slice k's pixels all add k*10."""
    cosines = np.array([float(v) for v in CT.ImageOrientationPatient])
    normal = np.cross(cosines[:3], cosines[3:])
    origin = np.array([float(v) for v in CT.ImagePositionPatient])
    slices: list[Dataset] = []
    for k in range(count):
        ds = copy.deepcopy(CT)
        ds.SOPInstanceUID = generate_uid()
        ds.ImagePositionPatient = [round(float(v), 4) for v in origin + k * gap * normal]
        ds.InstanceNumber = count - k  # numbered against the position, as some scanners do
        ds.PixelData = (CT.pixel_array + 10 * k).astype(CT.pixel_array.dtype).tobytes()
        slices.append(ds)
    if shuffle:
        random.Random(4).shuffle(slices)
    return slices


class TestAssembleVolume:
    def test_slices_are_sorted_along_the_normal_with_spacing_from_positions(self):
        volume = assemble_volume(ct_series(6, 2.5))

        assert volume.voxels.shape == (6, 128, 128)
        assert volume.voxels.dtype == np.float32
        spacing = [float(v) for v in CT.PixelSpacing]
        assert volume.spacing_mm == pytest.approx((2.5, spacing[0], spacing[1]), abs=1e-3)
        hu = CT.pixel_array * float(CT.RescaleSlope) + float(CT.RescaleIntercept)
        for k in range(6):
            np.testing.assert_array_equal(volume.voxels[k], hu + 10 * k)
        assert volume.origin_mm == pytest.approx([float(v) for v in CT.ImagePositionPatient])

    def test_mixed_orientation_is_refused(self):
        slices = ct_series(4)
        slices[2].ImageOrientationPatient = [0, 1, 0, 0, 0, -1]  # a sagittal localizer
        with pytest.raises(GeometryError, match="Mixed orientations"):
            assemble_volume(slices)

    def test_duplicate_positions_are_refused(self):
        slices = ct_series(4, shuffle=False)
        slices[3].ImagePositionPatient = slices[1].ImagePositionPatient
        with pytest.raises(GeometryError, match="Duplicate slice position"):
            assemble_volume(slices)

    def test_a_missing_slice_shows_as_an_uneven_gap(self):
        slices = ct_series(6, shuffle=False)
        del slices[3]
        with pytest.raises(GeometryError, match=r"Uneven slice gaps: 5\.000 mm"):
            assemble_volume(slices)

    def test_different_sizes_are_refused(self):
        slices = ct_series(3, shuffle=False)
        small = pydicom.dcmread(_testdata_path("MR_small.dcm"))
        slices[1].Rows, slices[1].Columns = small.Rows, small.Columns
        slices[1].PixelData = small.PixelData
        with pytest.raises(GeometryError, match="different sizes"):
            assemble_volume(slices)

    def test_a_slice_without_position_is_refused(self):
        slices = ct_series(3)
        del slices[0].ImagePositionPatient
        with pytest.raises(GeometryError, match="no valid ImagePositionPatient"):
            assemble_volume(slices)

    def test_one_slice_is_not_a_volume(self):
        with pytest.raises(GeometryError, match="at least 2 slices"):
            assemble_volume(ct_series(1))


class TestPrepareVolume:
    def test_window_and_resample_to_the_spec(self):
        volume = assemble_volume(ct_series(8))
        spec = InputSpec(shape=(4, 64, 64), channels=1, window=(40.0, 400.0))
        tensor = prepare_volume(volume, spec)

        assert tensor.shape == (1, 4, 64, 64)
        assert tensor.dtype == np.float32
        assert 0.0 <= tensor.min() < tensor.max() <= 1.0
        # area averaging: slices 0+1 -> 0, ..., and each 2x2 block averaged
        windowed = np.clip((volume.voxels - (40.0 - 200.0)) / 400.0, 0, 1)
        expected = windowed.reshape(4, 2, 64, 2, 64, 2).mean(axis=(1, 3, 5))
        np.testing.assert_allclose(tensor[0], expected, atol=1e-5)


class TestPrepareImage:
    def test_xrv_style_spec_maps_to_minus_1024_1024(self):
        spec = InputSpec(shape=(224, 224), channels=1, value_range=(-1024.0, 1024.0))
        tensor = prepare_image(pydicom.dcmread(_testdata_path("MR_small.dcm")), spec)
        assert tensor.shape == (1, 224, 224)
        assert -1024.0 <= tensor.min() < tensor.max() <= 1024.0

    def test_grey_image_for_an_rgb_network_with_imagenet_statistics(self):
        spec = InputSpec(
            shape=(32, 32), channels=3, mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225)
        )
        tensor = prepare_image(pydicom.dcmread(_testdata_path("CT_small.dcm")), spec)
        assert tensor.shape == (3, 32, 32)
        unit = tensor[0] * 0.229 + 0.485
        np.testing.assert_allclose(tensor[1] * 0.224 + 0.456, unit, atol=1e-5)

    def test_colour_image_keeps_its_channels_and_uint8(self):
        spec = InputSpec(shape=(50, 50), channels=3, datatype="UINT8", value_range=(0, 255))
        tensor = prepare_image(pydicom.dcmread(_testdata_path("SC_rgb_rle.dcm")), spec)
        assert tensor.shape == (3, 50, 50)
        assert tensor.dtype == np.uint8
        assert not np.array_equal(tensor[0], tensor[2])
