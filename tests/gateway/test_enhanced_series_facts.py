"""Enhanced CT facts read from a real Orthanc: frames per instance, functional-group values.

pydicom-data's ``eCT_Supplemental.dcm`` (Enhanced CT, 2 frames; plane orientation and pixel
measures in the Shared Functional Groups) is stored in the session's Orthanc 1.10, as is a copy
whose orientation and thickness were moved into each frame's Per-frame item.
"""

from __future__ import annotations

import io

import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid

from gateway.ingest.enhanced_series import frames_of_series, is_enhanced_volume, with_group_geometry
from gateway.ingest.series_tags import orientation
from gateway.orthanc import _parse
from gateway.orthanc.records import UploadResult
from tests.fixtures.orthanc import OrthancHandle

SHARED_ORIENTATION = ("5200-9229", "0", "0020-9116", "0", "0020-0037")


def enhanced_ct() -> Dataset:
    path = get_testdata_file("eCT_Supplemental.dcm")
    assert path is not None, "eCT_Supplemental.dcm comes with pydicom-data (a dev dependency)"
    ds = pydicom.dcmread(path)
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    return ds


def store(orthanc: OrthancHandle, ds: Dataset) -> UploadResult:
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return orthanc.client.upload_instance(buffer.getvalue())


def per_frame_only(ds: Dataset) -> Dataset:
    """Move the plane orientation and pixel measures from the shared item into every frame's."""
    shared = ds.SharedFunctionalGroupsSequence[0]
    orientation_item, measures = shared.PlaneOrientationSequence, shared.PixelMeasuresSequence
    del shared.PlaneOrientationSequence, shared.PixelMeasuresSequence
    for frame in ds.PerFrameFunctionalGroupsSequence:
        frame.PlaneOrientationSequence, frame.PixelMeasuresSequence = orientation_item, measures
    return ds


@pytest.mark.integration
class TestAgainstOrthanc:
    def test_a_nested_value_is_read_and_a_missing_one_is_none(self, orthanc: OrthancHandle):
        stored = store(orthanc, enhanced_ct())

        value = orthanc.client.get_instance_value(stored.orthanc_id, SHARED_ORIENTATION)
        assert value is not None and orientation(value) == "axial"
        assert [float(v) for v in value.split("\\")] == [-1, 0, 0, 0, 1, 0]
        missing = ("5200-9229", "0", "0020-9113", "0", "0020-0032")  # positions are per frame
        assert orthanc.client.get_instance_value(stored.orthanc_id, missing) is None

    def test_frames_are_counted_per_instance(self, orthanc: OrthancHandle):
        stored = store(orthanc, enhanced_ct())
        series_id = orthanc.client.get_study(stored.parent_study).series[0].orthanc_id

        assert orthanc.client.series_frame_counts(series_id) == [2]
        assert frames_of_series(orthanc.client, series_id) == 2

    @pytest.mark.parametrize("layout", ["shared", "per-frame"])
    def test_group_geometry_fills_the_missing_top_level_tags(
        self, orthanc: OrthancHandle, layout: str
    ):
        ds = enhanced_ct() if layout == "shared" else per_frame_only(enhanced_ct())
        stored = store(orthanc, ds)
        tags = orthanc.client.get_instance_tags(stored.orthanc_id)
        assert is_enhanced_volume(tags)
        assert "ImageOrientationPatient" not in tags and "SliceThickness" not in tags

        filled = with_group_geometry(orthanc.client, stored.orthanc_id, tags)
        assert orientation(filled["ImageOrientationPatient"]) == "axial"
        assert float(filled["SliceThickness"]) == 10.0

    def test_a_top_level_value_is_kept(self, orthanc: OrthancHandle):
        stored = store(orthanc, enhanced_ct())
        tags = {"SOPClassUID": "1.2.840.10008.5.1.4.1.1.2.1", "SliceThickness": "2.5"}
        assert (
            with_group_geometry(orthanc.client, stored.orthanc_id, tags)["SliceThickness"] == "2.5"
        )


class TestParsing:
    @pytest.mark.parametrize(
        "path", [(), ("..", "x"), ("5200-9229", "0/../../tools"), ("0020-0037?x=1",)]
    )
    def test_a_content_path_is_only_tags_and_indices(self, path: tuple[str, ...]):
        with pytest.raises(ValueError, match="not a tag path"):
            _parse.check_content_path(path)

    def test_values_lose_their_dicom_padding(self):
        assert _parse.content_text(b"1\\0\\0\\0\\1\\0 ") == "1\\0\\0\\0\\1\\0"
        assert _parse.content_text(b"1.2.3\x00") == "1.2.3"

    def test_missing_or_malformed_frame_counts_mean_one_image(self):
        payload = [
            {"MainDicomTags": {"NumberOfFrames": "120"}},
            {"MainDicomTags": {}},
            {"MainDicomTags": {"NumberOfFrames": "x"}},
            {"MainDicomTags": {"NumberOfFrames": "0"}},
        ]
        assert _parse.frame_counts(payload) == [120, 1, 1, 1]
