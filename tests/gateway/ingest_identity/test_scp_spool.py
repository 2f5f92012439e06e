"""Store-and-forward in the SCP: what a modality was told is stored reaches Orthanc, whatever happens.

Each situation is created for real: Orthanc stopped while DCMTK sends, and a gateway that
stopped with instances still spooled, started again on the same spool.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx
import pytest
from pydicom.uid import UID
from pynetdicom import AE
from pynetdicom.dsutils import create_file_meta, encode_file_meta
from pynetdicom.sop_class import CTImageStorage  # type: ignore[attr-defined]

from gateway.orthanc import LocalOrthanc, OrthancClient
from gateway.scp.nodes import NodeDirectory
from gateway.scp.part10 import part10_file
from gateway.scp.server import DicomGateway
from services.kit.storage import LocalDiskStore
from tests.fixtures.databases import Database
from tests.fixtures.orthanc import PASSWORD, USERNAME, OrthancHandle, free_port, fresh_ct
from tests.fixtures.polling import eventually
from tests.gateway.ingest_identity.conftest import SCP_AET, Scp, Site, sop_uids_in, storescu

pytestmark = pytest.mark.integration


def _gateway(orthanc: LocalOrthanc, db: Database, tmp_path: Path) -> DicomGateway:
    client = OrthancClient(orthanc.config.http_url, USERNAME, PASSWORD, timeout_s=5)
    return DicomGateway(
        ae_title=SCP_AET,
        orthanc=client,
        store=LocalDiskStore(tmp_path / "objects"),
        directory=NodeDirectory(db.factory),
        spool_dir=tmp_path / "spool",
        timeout_s=10,
    )


def test_an_instance_acknowledged_while_orthanc_is_down_arrives_when_it_is_back(
    site: Site, own_orthanc: LocalOrthanc, use_database: Database, tmp_path: Path
) -> None:
    gateway = _gateway(own_orthanc, use_database, tmp_path)
    _, port = gateway.start("127.0.0.1", free_port())
    try:
        own_orthanc.stop()
        path, ds = fresh_ct(tmp_path)

        code, output = storescu(Scp(gateway, port), site.node_a, path)

        assert code == 0, output  # acknowledged: it is on the gateway's disk
        assert gateway.spool.pending == 1
        assert not gateway.spool.drain(1.0)  # nothing to deliver to
        own_orthanc.start()
        own_orthanc.wait_ready(timeout=20)
        assert gateway.spool.drain(40.0)
        assert ds.SOPInstanceUID in sop_uids_in(own_orthanc)
        assert list((tmp_path / "spool").iterdir()) == []
    finally:
        gateway.stop()


def test_instances_spooled_before_a_stop_are_forwarded_once_at_the_next_start(
    site: Site, own_orthanc: LocalOrthanc, use_database: Database, tmp_path: Path
) -> None:
    first = _gateway(own_orthanc, use_database, tmp_path)
    _, port = first.start("127.0.0.1", free_port())
    own_orthanc.stop()  # the forwarders can deliver nothing: files stay spooled
    paths = [fresh_ct(tmp_path)[0] for _ in range(3)]
    code, output = storescu(Scp(first, port), site.node_b, *paths)
    assert code == 0, output
    first.stop(drain_s=0.5)
    assert first.spool.pending == 3
    own_orthanc.start()
    own_orthanc.wait_ready(timeout=20)

    second = _gateway(own_orthanc, use_database, tmp_path)
    second.start("127.0.0.1", free_port())
    try:
        assert second.spool.drain(40.0)
    finally:
        second.stop()

    assert sorted(sop_uids_in(own_orthanc)) == sorted(p.stem for p in paths)  # each once
    assert list((tmp_path / "spool").iterdir()) == []


def test_the_part10_file_is_what_pynetdicom_would_write() -> None:
    meta = create_file_meta(
        sop_class_uid=UID("1.2.840.10008.5.1.4.1.1.2"),
        sop_instance_uid=UID("1.2.3.45"),
        transfer_syntax=UID("1.2.840.10008.1.2.1"),
    )
    expected = b"\x00" * 128 + b"DICM" + encode_file_meta(meta) + b"DATASET"

    ours = part10_file(
        b"DATASET",
        sop_class_uid="1.2.840.10008.5.1.4.1.1.2",
        sop_instance_uid="1.2.3.45",
        transfer_syntax="1.2.840.10008.1.2.1",
    )

    assert ours == expected


def test_a_spool_that_cannot_be_written_is_answered_out_of_resources_then_recovers(
    scp: Scp, site: Site, orthanc: OrthancHandle, tmp_path: Path
) -> None:
    spool = scp.gateway.spool.folder
    _, first = fresh_ct(tmp_path)
    _, lost = fresh_ct(tmp_path)
    _, kept = fresh_ct(tmp_path)
    peer = AE(ae_title=site.node_a)
    peer.add_requested_context(CTImageStorage)
    assoc = peer.associate("127.0.0.1", scp.port, ae_title=scp.ae_title)
    assert assoc.is_established
    try:
        assert assoc.send_c_store(first).Status == 0x0000  # the SCP's segment is open now
        assert eventually(lambda: _stored(orthanc, first.SOPInstanceUID), 20)
        shutil.rmtree(spool)  # the spool volume gone from under the SCP, segment and all
        refused = assoc.send_c_store(lost)
        spool.mkdir()
        stored = assoc.send_c_store(kept)
    finally:
        assoc.release()

    assert refused.Status == 0xA700  # out of resources: the modality keeps it, sends it again
    assert "retry later" in refused.ErrorComment
    assert stored.Status == 0x0000
    assert eventually(lambda: _stored(orthanc, kept.SOPInstanceUID), 20)  # forwarding went on
    assert not _stored(orthanc, lost.SOPInstanceUID)


def _stored(orthanc: OrthancHandle, sop_instance_uid: str) -> bool:
    found = httpx.post(
        f"{orthanc.http_url}/tools/lookup", content=sop_instance_uid, auth=(USERNAME, PASSWORD)
    ).json()
    return any(item["Type"] == "Instance" for item in found)
