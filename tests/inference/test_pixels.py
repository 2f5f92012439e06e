"""DICOM pixels -> 0..1 grey image, on pydicom's shipped real files."""

from __future__ import annotations

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.dataset import FileDataset

from inference.dicom.pixels import PixelDataError, radiograph_image, resize

pytestmark = pytest.mark.unit


def read(name: str) -> FileDataset:
    path = get_testdata_file(name)
    assert path is not None, f"pydicom test file {name} is missing"
    return pydicom.dcmread(path)


class TestModalityLut:
    def test_ct_rescale_is_applied_before_the_stored_range(self):
        ds = read("CT_small.dcm")  # RescaleSlope 1, RescaleIntercept -1024, no window
        image = radiograph_image(ds)

        slope, intercept = float(ds.RescaleSlope), float(ds.RescaleIntercept)
        hounsfield = ds.pixel_array * slope + intercept
        low, high = -(2.0**15) * slope + intercept, (2.0**15 - 1) * slope + intercept
        assert intercept != 0
        assert image.shape == (128, 128)
        assert image.dtype == np.float32
        np.testing.assert_allclose(image, (hounsfield - low) / (high - low), atol=1e-6)

    def test_big_endian_file_gives_the_same_image(self):
        np.testing.assert_array_equal(
            radiograph_image(read("MR_small_bigendian.dcm")), radiograph_image(read("MR_small.dcm"))
        )


class TestWindow:
    def test_window_center_width_maps_to_unit_range_with_clipping(self):
        ds = read("MR_small.dcm")  # WindowCenter 600, WindowWidth 1600
        image = radiograph_image(ds, normalization="window")

        center, width = float(ds.WindowCenter) - 0.5, float(ds.WindowWidth) - 1  # DICOM LINEAR
        expected = np.clip((ds.pixel_array - center) / width + 0.5, 0, 1)
        np.testing.assert_allclose(image, expected, atol=1e-4)
        assert image.max() == 1.0  # the brightest tissue lies above the window

    def test_window_differs_from_stored_range(self):
        ds = read("MR_small.dcm")
        windowed = radiograph_image(ds, normalization="window")
        stored = radiograph_image(ds, normalization="stored-range")
        assert stored.max() < 0.6 < windowed.max()

    def test_invalid_window_falls_back_to_the_stored_range(self):
        ds = read("MR_small.dcm")
        ds.WindowWidth = 0  # invalid for a LINEAR window
        np.testing.assert_array_equal(
            radiograph_image(ds),
            radiograph_image(read("MR_small.dcm"), normalization="stored-range"),
        )

    def test_percentile_normalisation_spreads_each_image_over_0_to_1(self):
        image = radiograph_image(read("CT_small.dcm"), normalization="percentile")
        assert image.min() == 0.0
        assert image.max() == 1.0
        assert 0.005 < float((image == 1.0).mean()) < 0.03  # the top 1 % saturates


class TestPhotometricInterpretation:
    def test_monochrome1_is_inverted(self):
        normal = read("MR_small.dcm")
        inverted = read("MR_small.dcm")
        inverted.PhotometricInterpretation = "MONOCHROME1"  # same pixels, opposite meaning

        original, flipped = radiograph_image(normal), radiograph_image(inverted)
        np.testing.assert_allclose(flipped, 1.0 - original, atol=1e-6)
        brightest = np.unravel_index(np.argmax(original), original.shape)
        assert flipped[brightest] == pytest.approx(0.0, abs=1e-6)

    @pytest.mark.parametrize(
        "name", ["examples_rgb_color.dcm", "examples_palette.dcm", "SC_rgb_jpeg_dcmtk.dcm"]
    )
    def test_colour_images_become_grey(self, name: str):
        ds = read(name)
        image = radiograph_image(ds)
        assert image.shape == (ds.Rows, ds.Columns)
        assert 0.0 <= image.min() < image.max() <= 1.0


class TestMultiFrame:
    def test_only_the_first_frame_is_returned(self):
        ds = read("rtdose.dcm")  # 15 frames of 10 x 10
        frames = ds.pixel_array.astype(np.float64)
        assert frames.shape == (15, 10, 10)

        image = radiograph_image(ds, normalization="percentile")

        assert image.shape == (10, 10)
        low, high = np.percentile(frames[0], [1, 99])
        np.testing.assert_allclose(
            image, np.clip((frames[0] - low) / (high - low), 0, 1), atol=1e-6
        )
        assert not np.allclose(frames[0], frames[1])

    def test_multi_frame_colour(self):
        image = radiograph_image(read("SC_rgb_rle_2frame.dcm"))
        assert image.shape == (100, 100)


class TestUnusableObjects:
    def test_structured_report_has_no_pixel_data(self):
        with pytest.raises(PixelDataError, match="no pixel data"):
            radiograph_image(read("test-SR.dcm"))

    def test_truncated_pixel_data_cannot_be_decoded(self):
        with pytest.raises(PixelDataError, match="Cannot decode the pixel data"):
            radiograph_image(read("MR_truncated.dcm"))

    def test_missing_transfer_syntax(self):
        with pytest.raises(PixelDataError, match="Transfer Syntax"):
            radiograph_image(read("meta_missing_tsyntax.dcm"))

    def test_error_is_a_value_error(self):
        assert issubclass(PixelDataError, ValueError)


class TestResize:
    def test_area_downsampling_keeps_the_mean_of_a_real_image(self):
        image = radiograph_image(read("CT_small.dcm"), normalization="percentile")
        small = resize(image, (64, 64))
        assert small.shape == (64, 64)
        assert small.dtype == np.float32
        assert float(small.mean()) == pytest.approx(float(image.mean()), abs=1e-5)

    def test_area_downsampling_averages_whole_blocks(self):
        image = np.arange(16, dtype=np.float32).reshape(4, 4)
        np.testing.assert_allclose(resize(image, (2, 2)), [[2.5, 4.5], [10.5, 12.5]])

    def test_non_integer_factors_and_upsampling(self):
        image = radiograph_image(read("examples_overlay.dcm"))  # 300 x 484
        resized = resize(image, (256, 256))
        assert resized.shape == (256, 256)
        assert 0.0 <= resized.min() <= resized.max() <= 1.0 + 1e-6
        assert float(resized.mean()) == pytest.approx(float(image.mean()), abs=0.01)

        ramp = np.linspace(0, 1, 64, dtype=np.float32)[None, :].repeat(64, axis=0)
        grown = resize(ramp, (256, 256))
        assert np.all(np.diff(grown[0]) >= 0)  # bilinear: monotone, no overshoot
        assert grown[0, 0] == pytest.approx(0.0)
        assert grown[0, -1] == pytest.approx(1.0)

    def test_constant_image_stays_constant(self):
        resized = resize(np.full((37, 91), 0.25, dtype=np.float32), (256, 256))
        np.testing.assert_allclose(resized, 0.25, atol=1e-6)

    def test_rejects_non_2d(self):
        with pytest.raises(ValueError, match="2-D"):
            resize(np.zeros((2, 3, 4)), (8, 8))
