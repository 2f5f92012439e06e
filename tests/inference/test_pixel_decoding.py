"""Every pixel-bearing file pydicom ships decodes (or fails with a clear error), all syntaxes.

pydicom's test files come in twins: the same image stored uncompressed and compressed with
RLE, JPEG lossless, JPEG-LS or JPEG 2000, big and little endian, deflated. The uncompressed
twin, read by pydicom itself, is the reference the compressed one must reproduce exactly
(lossless) or closely (lossy).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset
from pydicom.pixels.processing import apply_modality_lut

from inference.dicom.decode import PixelDataError, decode_frames
from inference.dicom.pixels import display_frames, modality_frames

pytestmark = pytest.mark.unit

TEST_FILES = Path(pydicom.__file__).parent / "data" / "test_files"
# Files pydicom ships broken on purpose, and why each is refused.
BROKEN = {
    "JPEG-lossy.dcm": "misplaced marker",  # its 12-bit JPEG scan header is corrupt
    "JPEG2000-embedded-sequence-delimiter.dcm": "J2K",  # a delimiter inside the codestream
    "MR_truncated.dcm": "less than expected",
    "badVR.dcm": "Number of Frames",  # NumberOfFrames "1A"
    "meta_missing_tsyntax.dcm": "no Transfer Syntax UID",
    "nested_priv_SQ.dcm": "Bits Allocated",
}


def _read_all() -> dict[str, Dataset]:
    datasets: dict[str, Dataset] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for path in sorted(TEST_FILES.rglob("*")):
            if not path.is_file():
                continue
            try:
                ds = pydicom.dcmread(path, force=True)
            except Exception:  # not DICOM at all (e.g. a README): nothing to decode
                continue
            if any(k in ds for k in ("PixelData", "FloatPixelData", "DoubleFloatPixelData")):
                datasets[path.relative_to(TEST_FILES).as_posix()] = ds
    return datasets


ALL = _read_all()
DECODABLE = sorted(name for name in ALL if name not in BROKEN)


def read(name: str) -> Dataset:
    path = get_testdata_file(name)
    assert path is not None, f"pydicom test file {name} is missing"
    return pydicom.dcmread(path)


def test_the_corpus_covers_every_transfer_syntax_family():
    syntaxes = {
        ds.file_meta.TransferSyntaxUID.name for name, ds in ALL.items() if name in DECODABLE
    }
    for family in ("Implicit VR", "Explicit VR Big", "Deflated", "RLE", "JPEG Baseline",
                   "JPEG Extended", "JPEG Lossless", "JPEG-LS Lossless", "JPEG-LS Lossy",
                   "JPEG 2000 Image Compression (Lossless", "JPEG 2000 Image Compression"):  # fmt: skip
        assert any(s.startswith(family) for s in syntaxes), family
    assert len(DECODABLE) >= 80


@pytest.mark.parametrize("name", DECODABLE)
def test_decodes_to_the_declared_geometry_like_pydicom(name: str):
    ds = ALL[name]
    frames = decode_frames(ds)

    count = int(ds.get("NumberOfFrames", 1) or 1)
    colour = ds.SamplesPerPixel == 3 or ds.PhotometricInterpretation == "PALETTE COLOR"
    expected = (count, ds.Rows, ds.Columns, *((3,) if colour else ()))
    assert frames.shape == expected
    reference = ds.pixel_array.reshape(frames.shape) if ds.SamplesPerPixel == 3 else None
    if reference is not None:  # pydicom's own decoding (its pixel_array, RGB) is the reference
        np.testing.assert_array_equal(frames, reference)
    unit = display_frames(ds)
    assert unit.dtype == np.float32
    assert unit.shape == expected[:3]
    assert 0.0 <= unit.min() <= unit.max() <= 1.0


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_broken_files_give_a_clear_pixel_error(name: str):
    with pytest.raises(PixelDataError, match=BROKEN[name]):
        display_frames(ALL[name])


class TestLosslessTwinsAreIdentical:
    @pytest.mark.parametrize(
        ("reference", "twin"),
        [
            ("MR_small.dcm", "MR_small_RLE.dcm"),
            ("MR_small.dcm", "MR_small_jp2klossless.dcm"),
            ("MR_small.dcm", "MR_small_jpeg_ls_lossless.dcm"),
            ("MR_small.dcm", "MR_small_implicit.dcm"),
            ("MR_small.dcm", "MR_small_bigendian.dcm"),
            ("MR_small.dcm", "MR_small_expb.dcm"),
            ("SC_rgb_rle.dcm", "SC_rgb_jpeg_gdcm.dcm"),  # JPEG lossless, process 14
            ("SC_rgb_rle.dcm", "SC_rgb_gdcm_KY.dcm"),  # JPEG 2000
            ("rtdose.dcm", "rtdose_rle.dcm"),  # 15 frames, 32-bit
            ("rtdose.dcm", "rtdose_expb.dcm"),
            ("liver_1frame.dcm", "liver_expb_1frame.dcm"),
            ("SC_rgb_small_odd.dcm", "SC_rgb_small_odd_big_endian.dcm"),
        ],
    )
    def test_twin_matches(self, reference: str, twin: str):
        np.testing.assert_array_equal(decode_frames(read(twin)), decode_frames(read(reference)))

    def test_16_and_32_bit_rgb_hold_the_8_bit_image_scaled(self):
        rgb8 = decode_frames(read("SC_rgb_rle.dcm")).astype(np.uint64)
        np.testing.assert_array_equal(decode_frames(read("SC_rgb_rle_16bit.dcm")), rgb8 * 257)
        np.testing.assert_array_equal(decode_frames(read("SC_rgb_rle_32bit.dcm")), rgb8 * 16843009)


class TestLossyTwinsAreClose:
    @pytest.mark.parametrize(
        ("twin", "max_mean_error"),
        [
            ("SC_rgb_jls_lossy_line.dcm", 1.0),  # JPEG-LS near-lossless, NEAR=2
            ("SC_rgb_jls_lossy_sample.dcm", 1.0),
            ("SC_rgb_dcmtk_+eb+cr.dcm", 0.5),  # JPEG baseline, RGB
            ("SC_rgb_dcmtk_+eb+cy+n2.dcm", 1.0),  # JPEG baseline, YBR_FULL
            ("SC_rgb_dcmtk_+eb+cy+s2.dcm", 1.0),  # JPEG baseline, YBR_FULL_422
            ("SC_rgb_dcmtk_+eb+cy+np.dcm", 4.0),  # heavier quantisation
            ("SC_rgb_jpeg_lossy_gdcm.dcm", 4.0),
            ("SC_ybr_full_422_uncompressed.dcm", 1.0),  # uncompressed YBR_FULL_422
        ],
    )
    def test_ybr_and_lossy_twins_come_back_as_close_rgb(self, twin: str, max_mean_error: float):
        reference = decode_frames(read("SC_rgb_rle.dcm")).astype(np.float64)
        decoded = decode_frames(read(twin)).astype(np.float64)
        assert decoded.shape == reference.shape
        assert np.abs(decoded - reference).mean() <= max_mean_error
        jls = "jls" in twin
        assert np.abs(decoded - reference).max() <= 2 if jls else True  # NEAR bounds every pixel


class TestMultiFrame:
    def test_every_frame_of_a_multiframe_ybr_jpeg_decodes(self):
        ds = read("examples_ybr_color.dcm")  # 30 frames, JPEG baseline, YBR_FULL_422
        frames = display_frames(ds, colour="rgb")
        assert frames.shape == (30, 240, 320, 3)
        assert not np.array_equal(frames[0], frames[-1])

    def test_one_frame_can_be_decoded_alone(self):
        ds = read("rtdose.dcm")
        np.testing.assert_array_equal(decode_frames(ds, index=7)[0], decode_frames(ds)[7])

    def test_a_frame_beyond_the_last_is_a_clear_error(self):
        with pytest.raises(PixelDataError, match="Frame 15 asked for"):
            decode_frames(read("rtdose.dcm"), index=15)


class TestPhotometric:
    def test_palette_colour_is_looked_up_to_rgb(self):
        ds = read("examples_palette.dcm")
        rgb = decode_frames(ds)
        assert rgb.shape == (1, ds.Rows, ds.Columns, 3)
        assert len({tuple(px) for px in rgb[0, ::10, ::10].reshape(-1, 3)}) > 10  # real colour
        assert display_frames(ds, colour="rgb").shape == (1, ds.Rows, ds.Columns, 3)

    def test_monochrome1_cr_is_inverted(self):
        ds = read("dicomdirtests/77654033/CR1/6154")
        assert ds.PhotometricInterpretation == "MONOCHROME1"
        values = apply_modality_lut(ds.pixel_array, ds)
        unit = display_frames(ds, normalization="stored-range")[0]
        brightest_stored = np.unravel_index(np.argmax(values), values.shape)
        assert unit[brightest_stored] == unit.min()  # the highest stored value shows black

    def test_rescale_slope_and_intercept_give_hounsfield_units(self):
        ds = read("CT_small.dcm")
        hu = modality_frames(ds)[0]
        np.testing.assert_array_equal(hu, ds.pixel_array * 1.0 - 1024.0)
        assert hu.dtype == np.float32

    def test_explicit_window_overrides_the_dataset(self):
        ds = read("CT_small.dcm")
        lung = display_frames(ds, window=(-600.0, 1500.0))[0]
        hu = modality_frames(ds)[0]
        np.testing.assert_allclose(lung, np.clip((hu + 1350.0) / 1500.0, 0, 1), atol=1e-6)

    def test_voi_lut_sequence_is_applied(self):
        ds = read("MR_small.dcm")
        lut = Dataset()
        lut.LUTDescriptor = [4096, 0, 12]  # 4096 entries from stored value 0, 12-bit output
        lut.LUTData = list(range(4095, -1, -1))  # an inverting LUT, easy to predict
        ds.VOILUTSequence = [lut]
        unit = display_frames(ds)[0]
        expected = (4095 - np.clip(ds.pixel_array, 0, 4095)) / 4095.0
        np.testing.assert_allclose(unit, expected, atol=1e-6)
