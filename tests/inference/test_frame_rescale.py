"""The single-image steps (first_frame / middle_frame) read an enhanced frame in modality units.

Real files: pydicom-data's ``eCT_Supplemental.dcm`` (Enhanced CT whose Rescale Intercept -1024
and window 49/102 sit only in the Shared Functional Groups) and a Legacy Converted Enhanced CT
that highdicom builds from a classic series whose slices each have their own intercept, so
every frame carries a different Pixel Value Transformation in its Per-frame item.
"""

from __future__ import annotations

import numpy as np
import pytest
from pydicom.dataset import Dataset

from inference.dicom.frame_luts import frame_luts
from inference.dicom.manifest_input import prepare_from_manifest
from inference.dicom.pixels import display_frames, modality_frames
from services.model_registry.manifest import InputSpec as ManifestInputSpec
from tests.inference.test_enhanced_volume import classic_series, enhanced_ct, legacy_converted
from tests.inference.test_manifest_input import section

pytestmark = pytest.mark.unit

LUNG = (-600.0, 1500.0)  # center, width in HU


def image_section(
    frame_step: str, window: tuple[float, float] | None = LUNG, size: int = 512
) -> ManifestInputSpec:
    """An image model's input: one frame, HU, an optional window, at the file's own size."""
    steps: list[dict[str, object]] = [{"step": frame_step}, {"step": "modality_lut"}]
    if window is not None:
        steps.append({"step": "voi_window", "window": list(window)})
    return section(shape=[1, size, size], preprocessing=steps)


def windowed(hu: np.ndarray, window: tuple[float, float]) -> np.ndarray:
    center, width = window
    return np.clip((hu - (center - width / 2)) / width, 0.0, 1.0)


class TestRealEnhancedCT:
    def test_the_top_level_holds_no_rescale_so_only_the_groups_give_hounsfield_units(self):
        ds = enhanced_ct()
        assert "RescaleIntercept" not in ds and "WindowCenter" not in ds
        hu = modality_frames(ds)
        np.testing.assert_array_equal(hu, ds.pixel_array.astype(np.float32) - 1024.0)

    @pytest.mark.parametrize(("step", "frame"), [("first_frame", 0), ("middle_frame", 1)])
    def test_frame_steps_window_hounsfield_units(self, step: str, frame: int):
        ds = enhanced_ct()
        tensor = prepare_from_manifest(image_section(step), [ds])

        hu = ds.pixel_array[frame].astype(np.float64) - 1024.0
        assert tensor.shape == (1, 512, 512)
        np.testing.assert_allclose(tensor[0], windowed(hu, LUNG), atol=1e-6)
        # Stored values taken as HU (the old reading) would be 1024 HU brighter: far apart.
        assert np.abs(tensor[0] - windowed(hu + 1024.0, LUNG)).max() > 0.5

    def test_without_a_window_step_the_stored_range_is_shifted_by_the_groups_intercept(self):
        ds = enhanced_ct()
        tensor = prepare_from_manifest(image_section("middle_frame", window=None), [ds])

        hu = ds.pixel_array[1].astype(np.float64) - 1024.0
        low, high = -1024.0, 2.0**16 - 1 - 1024.0  # 16 stored bits, unsigned, after rescale
        np.testing.assert_allclose(tensor[0], (hu - low) / (high - low), atol=1e-6)

    def test_the_frame_voi_lut_of_the_groups_is_the_default_window(self):
        ds = enhanced_ct()
        unit = display_frames(ds, index=1)[0]  # "window": the groups' 49/102 HU window

        hu = ds.pixel_array[1].astype(np.float64) - 1024.0
        inside = (hu > 0) & (hu < 98)
        assert inside.any()
        assert unit[inside].min() > 0.0 and unit[inside].max() < 1.0
        assert (unit[hu < -2] == 0.0).all() and (unit[hu > 100] == 1.0).all()


class TestLegacyConvertedPerFrameRescale:
    """Each frame's own intercept applies, exactly as on the classic slice it came from."""

    def test_every_frame_reads_like_its_classic_slice(self):
        slices = classic_series(count=5)
        ds = legacy_converted(slices)
        intercepts = {
            float(item.PixelValueTransformationSequence[0].RescaleIntercept)
            for item in ds.PerFrameFunctionalGroupsSequence
        }
        assert len(intercepts) == 5  # truly per frame, not shared
        by_uid = {s.SOPInstanceUID: s for s in slices}
        for index, item in enumerate(ds.PerFrameFunctionalGroupsSequence):
            source = item.ConversionSourceAttributesSequence[0].ReferencedSOPInstanceUID
            classic = by_uid[source]
            np.testing.assert_allclose(
                display_frames(ds, index=index, window=LUNG),
                display_frames(classic, window=LUNG),
                atol=1e-6,
            )
            np.testing.assert_allclose(
                display_frames(ds, index=index, normalization="stored-range"),
                display_frames(classic, normalization="stored-range"),
                atol=1e-6,
            )

    def test_middle_frame_step_takes_the_middle_frames_intercept(self):
        slices = classic_series(count=5)
        ds = legacy_converted(slices)
        tensor = prepare_from_manifest(image_section("middle_frame", size=128), [ds])

        groups = ds.PerFrameFunctionalGroupsSequence[2].PixelValueTransformationSequence[0]
        hu = ds.pixel_array[2].astype(np.float64) * float(groups.RescaleSlope) + float(
            groups.RescaleIntercept
        )
        np.testing.assert_allclose(tensor[0], windowed(hu, LUNG), atol=1e-6)


class TestFrameLuts:
    def test_per_frame_item_wins_over_shared_which_wins_over_top_level(self):
        ds = enhanced_ct()
        ds.RescaleIntercept, ds.RescaleSlope = 5, 3  # a stray top-level rescale
        own = Dataset()
        own.RescaleIntercept, own.RescaleSlope = -1000, 2
        ds.PerFrameFunctionalGroupsSequence[1].PixelValueTransformationSequence = [own]

        first, second = frame_luts(ds, 0), frame_luts(ds, 1)
        assert (float(first.RescaleSlope), float(first.RescaleIntercept)) == (1.0, -1024.0)
        assert (float(second.RescaleSlope), float(second.RescaleIntercept)) == (2.0, -1000.0)
        assert (float(first.WindowCenter), float(first.WindowWidth)) == (49.0, 102.0)
        assert "PixelData" not in first and int(first.BitsStored) == int(ds.BitsStored)
        stored = ds.pixel_array[1].astype(np.float32)
        np.testing.assert_array_equal(modality_frames(ds)[1], stored * 2 - 1000)

    def test_a_classic_image_keeps_its_own_dataset(self):
        classic = classic_series(count=1)[0]
        assert frame_luts(classic, 0) is classic
