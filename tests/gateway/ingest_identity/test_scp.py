"""The gateway's DICOM SCP with real peers: registered nodes store and echo, others are refused."""

from __future__ import annotations

import io
from pathlib import Path

import pydicom
import pytest
from pynetdicom import AE
from pynetdicom.sop_class import CTImageStorage  # type: ignore[attr-defined]
from sqlalchemy import select

from gateway.ingest import patient_namespace
from services.models import DicomNode, QuarantineItem
from tests.fixtures.databases import Database
from tests.fixtures.orthanc import OrthancHandle, fresh_ct
from tests.gateway.ingest_identity.conftest import Scp, Site, drain_until, echoscu, storescu

pytestmark = pytest.mark.integration


def test_registered_node_echoes_and_unregistered_is_refused(scp: Scp, site: Site) -> None:
    ok, _ = echoscu(scp, site.node_a)
    refused, output = echoscu(scp, "INTRUDER")

    assert ok == 0
    assert refused != 0 and "Rejected" in output


def test_storescu_study_is_owned_by_the_nodes_clinic_with_its_own_patient_id(
    scp: Scp, site: Site, orthanc: OrthancHandle, use_database: Database, tmp_path: Path
) -> None:
    path, ds = fresh_ct(tmp_path, PatientID="CT-0001")
    code, output = storescu(scp, site.node_a, path)
    assert code == 0, output

    [study] = drain_until(orthanc, use_database, ds.StudyInstanceUID)

    assert study.organization_id == site.consortium.clinic_a.id
    assert (study.source, study.calling_ae_title) == ("dicom", site.node_a)
    assert study.patient_id == "CT-0001"
    assert study.patient_id_issuer == site.consortium.clinic_a.patient_id_issuer
    stored = orthanc.client.get_study(study.orthanc_id or "")
    token = patient_namespace.namespace_token(site.consortium.clinic_a.id)
    assert stored.patient_id == f"{token}~CT-0001"


def test_unregistered_calling_ae_is_refused_at_association(
    scp: Scp, site: Site, orthanc: OrthancHandle, use_database: Database, tmp_path: Path
) -> None:
    path, ds = fresh_ct(tmp_path)
    code, output = storescu(scp, "INTRUDER", path)

    assert code != 0 and "Rejected" in output
    assert drain_until(orthanc, use_database, ds.StudyInstanceUID, timeout=3) == []


def test_pynetdicom_peer_stores_and_a_broken_instance_is_quarantined(
    scp: Scp, site: Site, orthanc: OrthancHandle, use_database: Database, tmp_path: Path
) -> None:
    _, good = fresh_ct(tmp_path)
    _, broken = fresh_ct(tmp_path)
    broken.Rows = 0  # a declared geometry nothing may decode
    peer = AE(ae_title=site.node_b)
    peer.add_requested_context(CTImageStorage)
    assoc = peer.associate("127.0.0.1", scp.port, ae_title=scp.ae_title)
    assert assoc.is_established
    try:
        good_status = assoc.send_c_store(good)
        broken_status = assoc.send_c_store(broken)
    finally:
        assoc.release()

    assert good_status.Status == 0x0000
    assert broken_status.Status == 0xC000
    [study] = drain_until(orthanc, use_database, good.StudyInstanceUID)
    assert study.organization_id == site.consortium.clinic_b.id
    with use_database.factory() as session:
        held = session.scalars(
            select(QuarantineItem).where(
                QuarantineItem.organization_id == site.consortium.clinic_b.id
            )
        ).all()
    assert [h.reason_code for h in held] == ["bad_pixel_header"]


def test_disabled_node_is_refused_at_the_next_association(
    scp: Scp, site: Site, use_database: Database
) -> None:
    assert echoscu(scp, site.node_a)[0] == 0
    with use_database.factory.begin() as session:
        node = session.scalar(select(DicomNode).where(DicomNode.ae_title == site.node_a))
        assert node is not None
        node.enabled = False

    assert echoscu(scp, site.node_a)[0] != 0


def test_stored_instance_keeps_every_other_byte_and_gets_the_issuer(
    scp: Scp, site: Site, orthanc: OrthancHandle, use_database: Database, tmp_path: Path
) -> None:
    path, ds = fresh_ct(tmp_path, PatientID="CT-0002")
    assert storescu(scp, site.node_b, path)[0] == 0
    [study] = drain_until(orthanc, use_database, ds.StudyInstanceUID)
    info = orthanc.client.get_study(study.orthanc_id or "")
    stored = pydicom.dcmread(io.BytesIO(orthanc.client.get_instance_file(info.instance_ids[0])))

    assert stored.IssuerOfPatientID == site.consortium.clinic_b.patient_id_issuer
    assert stored.pixel_array.tobytes() == ds.pixel_array.tobytes()
    assert stored.PatientName == ds.PatientName
