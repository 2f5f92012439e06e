"""C-STORE and C-ECHO from DCMTK into the real Orthanc, and the change feed that follows."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from pydicom.data import get_testdata_file

from gateway.orthanc import ChangeType, DicomNode, OrthancNotFound, ResourceType
from tests.fixtures.orthanc import (
    ECHOSCU,
    STABLE_AGE_S,
    STORESCU,
    OrthancHandle,
    fresh_ct,
    instance_id_of,
    last_seq,
    run_dcmtk,
    storescu,
    study_id_of,
    wait_for_change,
)

pytestmark = pytest.mark.integration


def assert_not_stored(orthanc: OrthancHandle, instance_id: str) -> None:
    with pytest.raises(OrthancNotFound):
        orthanc.client.get_instance_origin(instance_id)


class TestStoreFromRegisteredNode:
    def test_store_shows_new_instance_then_stable_study(
        self, orthanc: OrthancHandle, clinic_node: DicomNode, tmp_path: Path
    ) -> None:
        path, dataset = fresh_ct(tmp_path)
        cursor = last_seq(orthanc)

        started = time.monotonic()
        result = storescu(orthanc, clinic_node.aet, path)
        store_s = time.monotonic() - started
        assert result.returncode == 0, result.stderr

        new_instance, _ = wait_for_change(
            orthanc,
            cursor,
            lambda c: (
                c.change_type == ChangeType.NEW_INSTANCE and c.orthanc_id == instance_id_of(dataset)
            ),
        )
        assert new_instance is not None
        assert new_instance.resource_type == ResourceType.INSTANCE

        stable, latency_s = wait_for_change(
            orthanc,
            cursor,
            lambda c: (
                c.change_type == ChangeType.STABLE_STUDY and c.orthanc_id == study_id_of(dataset)
            ),
            timeout=STABLE_AGE_S + 10,
        )
        assert stable is not None
        assert stable.resource_type == ResourceType.STUDY
        assert stable.seq > new_instance.seq
        print(
            f"\n[measure] storescu 1 file: {store_s * 1000:.0f} ms; StableStudy after store: "
            f"{latency_s:.2f} s with StableAge={STABLE_AGE_S} s"
        )

    def test_origin_records_the_calling_ae_title(
        self, orthanc: OrthancHandle, clinic_node: DicomNode, tmp_path: Path
    ) -> None:
        path, dataset = fresh_ct(tmp_path)
        assert storescu(orthanc, clinic_node.aet, path).returncode == 0

        origin = orthanc.client.get_instance_origin(instance_id_of(dataset))

        assert origin.origin == "DicomProtocol"
        assert origin.remote_aet == clinic_node.aet
        assert origin.called_aet == orthanc.aet
        assert origin.remote_ip == "127.0.0.1"

    def test_deflated_transfer_syntax_is_negotiated_away(
        self, orthanc: OrthancHandle, clinic_node: DicomNode
    ) -> None:
        # DeflatedTransferSyntaxAccepted=false: Orthanc never inflates network data itself.
        source = get_testdata_file("image_dfl.dcm")
        assert isinstance(source, str)
        result = run_dcmtk(
            STORESCU, "-v", "-xd", "-aet", clinic_node.aet, "-aec", orthanc.aet,
            "127.0.0.1", orthanc.dicom_port, source,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        assert "Converting transfer syntax: Deflated" in result.stderr

    def test_echo_succeeds(self, orthanc: OrthancHandle, clinic_node: DicomNode) -> None:
        result = run_dcmtk(
            ECHOSCU, "-aet", clinic_node.aet, "-aec", orthanc.aet, "127.0.0.1", orthanc.dicom_port
        )
        assert result.returncode == 0, result.stderr


class TestStoreRefused:
    def test_unknown_calling_ae_is_rejected_at_association(
        self, orthanc: OrthancHandle, tmp_path: Path
    ) -> None:
        path, dataset = fresh_ct(tmp_path)
        result = storescu(orthanc, "STRANGER", path)
        assert result.returncode != 0
        assert "Calling AE Title Not Recognized" in result.stderr
        assert_not_stored(orthanc, instance_id_of(dataset))

    def test_unknown_calling_ae_cannot_echo(self, orthanc: OrthancHandle) -> None:
        result = run_dcmtk(
            ECHOSCU, "-aet", "STRANGER", "-aec", orthanc.aet, "127.0.0.1", orthanc.dicom_port
        )
        assert result.returncode != 0

    def test_wrong_called_ae_is_rejected(
        self, orthanc: OrthancHandle, clinic_node: DicomNode, tmp_path: Path
    ) -> None:
        path, dataset = fresh_ct(tmp_path)
        result = storescu(orthanc, clinic_node.aet, path, called_aet="NOT_RADBRIDGE")
        assert result.returncode != 0
        assert "Called AE Title Not Recognized" in result.stderr
        assert_not_stored(orthanc, instance_id_of(dataset))

    def test_ae_title_comparison_is_case_sensitive(
        self, orthanc: OrthancHandle, clinic_node: DicomNode, tmp_path: Path
    ) -> None:
        path, dataset = fresh_ct(tmp_path)
        assert storescu(orthanc, clinic_node.aet.lower(), path).returncode != 0
        assert_not_stored(orthanc, instance_id_of(dataset))

    def test_registered_ae_from_another_host_is_rejected(
        self, orthanc: OrthancHandle, tmp_path: Path
    ) -> None:
        # The session Orthanc checks the peer address (DicomCheckModalityHost=true).
        orthanc.client.set_modality("elsewhere", "ELSEWHERE", "192.0.2.77", 104)
        try:
            path, dataset = fresh_ct(tmp_path)
            assert storescu(orthanc, "ELSEWHERE", path).returncode != 0
            assert_not_stored(orthanc, instance_id_of(dataset))
        finally:
            orthanc.client.delete_modality("elsewhere")


class TestModalitiesAtRunTime:
    def test_new_modality_is_accepted_without_restart_and_refused_after_removal(
        self, orthanc: OrthancHandle, tmp_path: Path
    ) -> None:
        pid = orthanc.process.pid
        first, first_ds = fresh_ct(tmp_path)
        assert storescu(orthanc, "LATECOMER", first).returncode != 0

        orthanc.client.set_modality("latecomer", "LATECOMER", "127.0.0.1", 11112)
        second, second_ds = fresh_ct(tmp_path)
        stored = storescu(orthanc, "LATECOMER", second)

        orthanc.client.delete_modality("latecomer")
        third, third_ds = fresh_ct(tmp_path)
        after_removal = storescu(orthanc, "LATECOMER", third)

        assert stored.returncode == 0, stored.stderr
        assert orthanc.client.get_instance_origin(instance_id_of(second_ds)).remote_aet == (
            "LATECOMER"
        )
        assert after_removal.returncode != 0
        assert_not_stored(orthanc, instance_id_of(first_ds))
        assert_not_stored(orthanc, instance_id_of(third_ds))
        assert orthanc.process.pid == pid  # no restart happened

    def test_list_shows_registered_nodes(
        self, orthanc: OrthancHandle, clinic_node: DicomNode
    ) -> None:
        assert clinic_node in orthanc.client.list_modalities()

    def test_set_modality_replaces_an_existing_entry(self, orthanc: OrthancHandle) -> None:
        orthanc.client.set_modality("moving", "MOVING", "127.0.0.1", 104)
        orthanc.client.set_modality("moving", "MOVING", "10.1.2.3", 1104)
        try:
            listed = [n for n in orthanc.client.list_modalities() if n.name == "moving"]
            assert listed == [DicomNode(name="moving", aet="MOVING", host="10.1.2.3", port=1104)]
        finally:
            orthanc.client.delete_modality("moving")

    def test_delete_of_unknown_modality_returns_false(self, orthanc: OrthancHandle) -> None:
        assert orthanc.client.delete_modality("never-registered") is False
