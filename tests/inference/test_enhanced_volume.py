"""Enhanced multi-frame CT/MR -> volume, from the functional groups, like a classic series.

Real files: pydicom-data's ``eCT_Supplemental.dcm`` (Enhanced CT, 2 frames stored against
their order along the normal, geometry and rescale in the functional groups) and
``emri_small.dcm`` (Enhanced MR whose functional groups were stripped). The voxel-for-voxel
comparison converts a classic CT series (pydicom's ``CT_small.dcm`` placed slice by slice) to
a Legacy Converted Enhanced CT with highdicom, writes it, reads it back and assembles both.
"""

from __future__ import annotations

import copy
import io

import highdicom as hd
import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid

from inference.dicom.manifest_input import prepare_from_manifest
from inference.dicom.volume import GeometryError, assemble_volume
from tests.inference.test_manifest_input import TestVolume, section
from tests.inference.test_volume import ct_series

pytestmark = pytest.mark.unit


def read(name: str) -> Dataset:
    path = get_testdata_file(name)
    assert path is not None, f"{name} comes with pydicom-data (a dev dependency)"
    return pydicom.dcmread(path)


def enhanced_ct() -> Dataset:
    return read("eCT_Supplemental.dcm")


def classic_series(count: int = 6, gap: float = 2.5) -> list[Dataset]:
    """A classic CT series whose slices each have their own rescale intercept."""
    slices = ct_series(count, gap)
    series_uid = generate_uid()
    for ds in slices:
        ds.SeriesInstanceUID = series_uid
        ds.RescaleIntercept = -1024 + 7 * int(ds.InstanceNumber)
    return slices


def legacy_converted(slices: list[Dataset]) -> Dataset:
    """Convert with highdicom, then write and read the file as an enhanced object arrives."""
    converted = hd.legacy.LegacyConvertedEnhancedCTImage(
        legacy_datasets=slices,
        series_instance_uid=generate_uid(),
        series_number=900,
        sop_instance_uid=generate_uid(),
        instance_number=1,
    )
    buffer = io.BytesIO()
    converted.save_as(buffer)
    buffer.seek(0)
    return pydicom.dcmread(buffer)


class TestRealEnhancedCT:
    def test_frames_are_sorted_along_the_normal_with_spacing_and_rescale_from_the_groups(self):
        ds = enhanced_ct()
        volume = assemble_volume([ds])

        # IOP (-1,0,0, 0,1,0): the normal is -z, so frame 2 (z = -149) comes before frame 1.
        assert volume.frame_numbers == (2, 1)
        assert volume.sop_instance_uids == (ds.SOPInstanceUID,) * 2
        assert volume.spacing_mm == pytest.approx((10.0, 0.388672, 0.388672))
        assert volume.origin_mm == pytest.approx((99.5, -301.5, -149.0))
        shared = ds.SharedFunctionalGroupsSequence[0].PixelValueTransformationSequence[0]
        assert float(shared.RescaleIntercept) == -1024.0
        stored = ds.pixel_array.astype(np.float32)
        np.testing.assert_array_equal(volume.voxels, stored[::-1] - 1024.0)

    def test_a_frame_tilted_in_its_own_group_is_refused(self):
        ds = enhanced_ct()
        tilted = Dataset()
        tilted.ImageOrientationPatient = [1, 0, 0, 0, 0, -1]
        ds.PerFrameFunctionalGroupsSequence[1].PlaneOrientationSequence = [tilted]
        with pytest.raises(GeometryError, match=r"Mixed orientations .* frame 2 is oriented"):
            assemble_volume([ds])

    def test_two_frames_at_one_position_are_refused(self):
        ds = enhanced_ct()
        first, second = ds.PerFrameFunctionalGroupsSequence
        second.PlanePositionSequence = copy.deepcopy(first.PlanePositionSequence)
        with pytest.raises(GeometryError, match=r"Duplicate slice position.*temporal positions"):
            assemble_volume([ds])

    def test_a_frame_without_its_position_is_refused(self):
        ds = enhanced_ct()
        del ds.PerFrameFunctionalGroupsSequence[0].PlanePositionSequence
        with pytest.raises(GeometryError, match=r"frame 1 has no PlanePositionSequence"):
            assemble_volume([ds])

    def test_functional_groups_must_match_the_number_of_frames(self):
        ds = enhanced_ct()
        del ds.PerFrameFunctionalGroupsSequence[1]
        with pytest.raises(GeometryError, match="holds 2 frames but 1 Per-frame"):
            assemble_volume([ds])

    def test_frames_with_different_pixel_spacing_are_refused(self):
        ds = enhanced_ct()
        measures = copy.deepcopy(ds.SharedFunctionalGroupsSequence[0].PixelMeasuresSequence)
        measures[0].PixelSpacing = [0.5, 0.5]
        ds.PerFrameFunctionalGroupsSequence[0].PixelMeasuresSequence = measures
        with pytest.raises(GeometryError, match="different Pixel Spacing"):
            assemble_volume([ds])


def test_a_multiframe_mr_without_functional_groups_cannot_be_placed():
    ds = read("emri_small.dcm")  # Enhanced MR, 10 frames, its functional groups stripped
    with pytest.raises(GeometryError, match="holds 10 frames but no functional groups"):
        assemble_volume([ds])


class TestLegacyConvertedCT:
    def test_volume_equals_the_classic_series_voxel_for_voxel(self):
        slices = classic_series()
        enhanced = legacy_converted(slices)
        assert enhanced.NumberOfFrames == len(slices)
        # the intercepts differ per slice, so the rescale is in each frame's own group
        assert all(
            "PixelValueTransformationSequence" in g
            for g in enhanced.PerFrameFunctionalGroupsSequence
        )

        classic = assemble_volume(slices)
        converted = assemble_volume([enhanced])

        np.testing.assert_array_equal(converted.voxels, classic.voxels)
        assert converted.voxels.dtype == classic.voxels.dtype == np.float32
        assert converted.spacing_mm == pytest.approx(classic.spacing_mm)
        assert converted.origin_mm == pytest.approx(classic.origin_mm)
        assert converted.orientation == pytest.approx(classic.orientation)

    def test_a_missing_frame_shows_as_an_uneven_gap(self):
        slices = classic_series(6)
        slices.sort(key=lambda ds: -int(ds.InstanceNumber))
        del slices[3]
        with pytest.raises(
            GeometryError, match=r"Uneven slice gaps: 5\.000 mm after slice .* frame"
        ):
            assemble_volume([legacy_converted(slices)])

    def test_the_manifest_pipeline_reads_one_enhanced_instance_as_the_series(self):
        slices = classic_series(8)
        fields = section(**TestVolume.SECTION)
        np.testing.assert_array_equal(
            prepare_from_manifest(fields, [legacy_converted(slices)]),
            prepare_from_manifest(fields, slices),
        )
