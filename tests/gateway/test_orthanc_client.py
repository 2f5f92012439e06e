"""The REST adapter against the real Orthanc: studies, origins, uploads, errors."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pydicom
import pytest
from pydicom.data import get_testdata_file

from gateway.orthanc import (
    ChangeType,
    DicomNode,
    OrthancNotFound,
    OrthancRejected,
)
from tests.fixtures.orthanc import (
    OrthancHandle,
    changes_since,
    fresh_ct,
    instance_id_of,
    last_seq,
    start_orthanc,
    storescu,
    study_id_of,
)

pytestmark = pytest.mark.integration

TAGS = {
    "PatientID": "RB-0001",
    "PatientSex": "F",
    "PatientBirthDate": "19800101",
    "AccessionNumber": "ACC-42",
    "StudyDate": "20260115",
    "StudyDescription": "CT HEAD",
    "BodyPartExamined": "HEAD",
}


class TestGetStudy:
    def test_returns_uids_and_main_tags(
        self, orthanc: OrthancHandle, clinic_node: DicomNode, tmp_path: Path
    ) -> None:
        path, dataset = fresh_ct(tmp_path, **TAGS)
        assert storescu(orthanc, clinic_node.aet, path).returncode == 0

        study = orthanc.client.get_study(study_id_of(dataset))

        assert study.orthanc_id == study_id_of(dataset)
        assert study.study_instance_uid == dataset.StudyInstanceUID
        assert study.patient_id == "RB-0001"
        assert study.patient_name == str(dataset.PatientName)
        assert (study.patient_sex, study.patient_birth_date) == ("F", "19800101")
        assert (study.accession_number, study.study_date) == ("ACC-42", "20260115")
        assert study.study_description == "CT HEAD"
        assert study.modalities_in_study == ("CT",)
        [series] = study.series
        assert series.series_instance_uid == dataset.SeriesInstanceUID
        assert (series.modality, series.body_part_examined) == ("CT", "HEAD")
        assert series.instance_count == 1
        assert study.instance_ids == (instance_id_of(dataset),)

    @pytest.mark.parametrize(
        ("charset", "name"),
        [("ISO_IR 192", "张三^李四"), ("GB18030", "王^小明"), ("ISO_IR 100", "Müller^Jürgen")],
    )
    def test_patient_name_arrives_as_utf8(
        self, orthanc: OrthancHandle, tmp_path: Path, charset: str, name: str
    ) -> None:
        path, dataset = fresh_ct(tmp_path, SpecificCharacterSet=charset, PatientName=name)
        orthanc.client.upload_instance(path.read_bytes())

        study = orthanc.client.get_study(study_id_of(dataset))

        assert study.patient_name == name

    def test_two_series_give_sorted_modalities(
        self, orthanc: OrthancHandle, tmp_path: Path
    ) -> None:
        path, dataset = fresh_ct(tmp_path)
        mr = pydicom.dcmread(get_testdata_file("MR_small.dcm"))  # type: ignore[arg-type]
        mr.PatientID, mr.StudyInstanceUID = dataset.PatientID, dataset.StudyInstanceUID
        mr_path = tmp_path / "mr.dcm"
        mr.save_as(mr_path)
        orthanc.client.upload_instance(path.read_bytes())
        orthanc.client.upload_instance(mr_path.read_bytes())

        study = orthanc.client.get_study(study_id_of(dataset))

        assert study.modalities_in_study == ("CT", "MR")
        assert study.instance_count == 2

    def test_unknown_study_raises_not_found(self, orthanc: OrthancHandle) -> None:
        with pytest.raises(OrthancNotFound):
            orthanc.client.get_study("00000000-00000000-00000000-00000000-00000000")

    def test_malformed_id_never_reaches_orthanc(self, orthanc: OrthancHandle) -> None:
        with pytest.raises(ValueError, match="not an Orthanc id"):
            orthanc.client.get_study("../tools/execute-script")


class TestUpload:
    def test_second_upload_is_already_stored(self, orthanc: OrthancHandle, tmp_path: Path) -> None:
        path, dataset = fresh_ct(tmp_path)
        data = path.read_bytes()
        cursor = last_seq(orthanc)

        first = orthanc.client.upload_instance(data)
        second = orthanc.client.upload_instance(data)

        assert first.status == "Success"
        assert second.status == "AlreadyStored"
        assert first.orthanc_id == second.orthanc_id == instance_id_of(dataset)
        assert first.parent_study == study_id_of(dataset)
        assert orthanc.client.get_study(first.parent_study).instance_count == 1
        new_instances = [
            c
            for c in changes_since(orthanc, cursor)
            if c.change_type == ChangeType.NEW_INSTANCE and c.orthanc_id == first.orthanc_id
        ]
        assert len(new_instances) == 1  # AlreadyStored adds nothing to the feed

    def test_rest_upload_origin(self, orthanc: OrthancHandle, tmp_path: Path) -> None:
        path, _ = fresh_ct(tmp_path)
        result = orthanc.client.upload_instance(path.read_bytes())

        origin = orthanc.client.get_instance_origin(result.orthanc_id)

        assert (origin.origin, origin.remote_aet) == ("RestApi", "")
        assert origin.http_username == orthanc.config.username

    def test_file_round_trips_byte_for_byte(self, orthanc: OrthancHandle, tmp_path: Path) -> None:
        path, _ = fresh_ct(tmp_path)
        data = path.read_bytes()
        result = orthanc.client.upload_instance(data)

        stored = orthanc.client.get_instance_file(result.orthanc_id)

        assert hashlib.sha256(stored).digest() == hashlib.sha256(data).digest()

    def test_garbage_is_rejected_with_reason(self, orthanc: OrthancHandle) -> None:
        with pytest.raises(OrthancRejected) as caught:
            orthanc.client.upload_instance(b"not a dicom file at all")
        assert caught.value.orthanc_status == 400
        assert "Bad file format" in caught.value.reason

    @pytest.mark.parametrize("data", [b"", b"PK\x03\x04zip", b"\x1f\x8bgzip"])
    def test_archives_and_empty_bodies_are_not_sent(
        self, orthanc: OrthancHandle, data: bytes
    ) -> None:
        with pytest.raises(ValueError, match="single"):
            orthanc.client.upload_instance(data)


class TestDelete:
    def test_delete_then_delete_again(self, orthanc: OrthancHandle, tmp_path: Path) -> None:
        path, _ = fresh_ct(tmp_path)
        instance_id = orthanc.client.upload_instance(path.read_bytes()).orthanc_id

        assert orthanc.client.delete_instance(instance_id) is True
        assert orthanc.client.delete_instance(instance_id) is False
        with pytest.raises(OrthancNotFound):
            orthanc.client.get_instance_file(instance_id)


@pytest.fixture(scope="class")
def feed_orthanc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OrthancHandle]:
    """An Orthanc of the change-feed tests alone.

    Deleting a resource deletes its rows of Orthanc's change log (ON DELETE CASCADE), so on the
    shared Orthanc another test's deletion can move the end of the feed back between two reads.
    """
    handle = start_orthanc(tmp_path_factory.mktemp("feed-orthanc"))
    try:
        yield handle
    finally:
        handle.client.close()
        handle.process.stop()


class TestChanges:
    def test_pages_with_limit_and_done(self, feed_orthanc: OrthancHandle, tmp_path: Path) -> None:
        cursor = last_seq(feed_orthanc)
        path, dataset = fresh_ct(tmp_path)
        feed_orthanc.client.upload_instance(path.read_bytes())

        page = feed_orthanc.client.get_changes(since=cursor, limit=1)
        rest = changes_since(feed_orthanc, page.last)

        [first] = page.changes
        assert (page.last, page.done) == (first.seq, False)
        ours = {
            c.change_type
            for c in [first, *rest]
            if c.orthanc_id in (instance_id_of(dataset), study_id_of(dataset))
        }
        assert ours == {ChangeType.NEW_INSTANCE, ChangeType.NEW_STUDY}

    def test_since_beyond_the_end_is_empty_and_done(self, feed_orthanc: OrthancHandle) -> None:
        end = last_seq(feed_orthanc)
        page = feed_orthanc.client.get_changes(since=end + 1000)
        assert (page.changes, page.done) == ([], True)
        # "last" is Orthanc's newest sequence number at the call: a StableStudy of an earlier
        # test may land between the two reads, so it is bounded by reads before and after.
        assert end <= page.last <= last_seq(feed_orthanc)

    @pytest.mark.parametrize(("since", "limit"), [(-1, 10), (0, 0), (0, 10_001)])
    def test_refuses_bad_arguments(
        self, feed_orthanc: OrthancHandle, since: int, limit: int
    ) -> None:
        with pytest.raises(ValueError, match="limit"):
            feed_orthanc.client.get_changes(since=since, limit=limit)
