"""B9: the same PatientID from two clinics never merges in Orthanc, and deleting stays local.

Measured on Orthanc 1.10.1 without namespacing: the two clinics' patients became one Orthanc
patient, and deleting it deleted both clinics' studies. Here clinic A sends over C-STORE (the
gateway SCP) and clinic B over STOW-RS (the gateway HTTP app), both with PatientID "P-0001".
"""

from __future__ import annotations

import io
import uuid
from pathlib import Path

import httpx
import pydicom
import pytest
from dicomweb_client.api import DICOMwebClient
from sqlalchemy import select

from gateway.dicomweb.release import release_item
from gateway.ingest import patient_namespace
from gateway.orthanc.aliases import node_alias
from gateway.orthanc.errors import OrthancNotFound
from services.kit.storage import LocalDiskStore
from services.models import DicomNode, QuarantineItem, Study
from services.quarantine import service as quarantine
from tests.fixtures.databases import Database
from tests.fixtures.orthanc import PASSWORD, USERNAME, OrthancHandle, fresh_ct
from tests.fixtures.orthanc import storescu as orthanc_storescu
from tests.gateway.ingest_identity.conftest import Scp, Site, bearer, drain_until, storescu

pytestmark = pytest.mark.integration
SHARED_ID = "P-0001"


def _two_clinics_same_patient_id(
    scp: Scp, site: Site, orthanc: OrthancHandle, db: Database, gateway_url: str, tmp_path: Path
) -> tuple[Study, Study]:
    path_a, ds_a = fresh_ct(tmp_path, PatientID=SHARED_ID, PatientName="Li^Lei")
    assert storescu(scp, site.node_a, path_a)[0] == 0
    _, ds_b = fresh_ct(tmp_path, PatientID=SHARED_ID, PatientName="Han^Meimei")
    token = bearer(site.consortium, site.consortium.clinic_b_staff)
    stow = DICOMwebClient(f"{gateway_url}/dicomweb", headers={"Authorization": f"Bearer {token}"})
    stow.store_instances([ds_b])
    [study_a] = drain_until(orthanc, db, ds_a.StudyInstanceUID)
    [study_b] = drain_until(orthanc, db, ds_b.StudyInstanceUID)
    return study_a, study_b


def test_same_patient_id_from_two_clinics_gives_two_orthanc_patients(
    scp: Scp,
    site: Site,
    orthanc: OrthancHandle,
    use_database: Database,
    gateway_url: str,
    tmp_path: Path,
) -> None:
    a, b = _two_clinics_same_patient_id(scp, site, orthanc, use_database, gateway_url, tmp_path)
    in_a = orthanc.client.get_study(a.orthanc_id or "")
    in_b = orthanc.client.get_study(b.orthanc_id or "")

    assert (a.patient_id, b.patient_id) == (SHARED_ID, SHARED_ID)  # our database: the original
    assert (a.organization_id, b.organization_id) == (
        site.consortium.clinic_a.id,
        site.consortium.clinic_b.id,
    )
    assert a.patient_id_issuer != b.patient_id_issuer
    assert in_a.patient_orthanc_id != in_b.patient_orthanc_id
    assert patient_namespace.split(in_a.patient_id) == (
        patient_namespace.namespace_token(site.consortium.clinic_a.id),
        SHARED_ID,
    )
    file_b = orthanc.client.get_instance_file(in_b.instance_ids[0])
    assert pydicom.dcmread(io.BytesIO(file_b)).IssuerOfPatientID == b.patient_id_issuer


def test_deleting_one_clinics_patient_leaves_the_other_clinic_untouched(
    scp: Scp,
    site: Site,
    orthanc: OrthancHandle,
    use_database: Database,
    gateway_url: str,
    tmp_path: Path,
) -> None:
    a, b = _two_clinics_same_patient_id(scp, site, orthanc, use_database, gateway_url, tmp_path)
    patient_a = orthanc.client.get_study(a.orthanc_id or "").patient_orthanc_id
    before = orthanc.client.get_study(b.orthanc_id or "")

    # The patient-level delete that removed both clinics' studies before namespacing:
    gone = httpx.delete(f"{orthanc.http_url}/patients/{patient_a}", auth=(USERNAME, PASSWORD))

    after = orthanc.client.get_study(b.orthanc_id or "")
    assert after.instance_ids == before.instance_ids
    assert orthanc.client.get_instance_file(after.instance_ids[0])[128:132] == b"DICM"
    assert gone.status_code == 200
    with pytest.raises(OrthancNotFound):
        orthanc.client.get_study(a.orthanc_id or "")


def test_a_forged_namespace_prefix_never_reaches_the_other_clinics_patient(
    scp: Scp, site: Site, orthanc: OrthancHandle, use_database: Database, tmp_path: Path
) -> None:
    token_b = patient_namespace.namespace_token(site.consortium.clinic_b.id)
    forged = f"{token_b}~{SHARED_ID}"
    path, ds = fresh_ct(tmp_path, PatientID=forged)
    assert storescu(scp, site.node_a, path)[0] == 0

    [study] = drain_until(orthanc, use_database, ds.StudyInstanceUID)

    stored = orthanc.client.get_study(study.orthanc_id or "")
    assert study.organization_id == site.consortium.clinic_a.id
    assert study.patient_id == forged  # what the device sent, kept as clinic A's own ID
    token_a = patient_namespace.namespace_token(site.consortium.clinic_a.id)
    assert stored.patient_id == f"{token_a}~{forged}"


def test_study_stored_behind_the_gateway_with_a_foreign_prefix_is_quarantined(
    site: Site, orthanc: OrthancHandle, use_database: Database, tmp_path: Path
) -> None:
    token_b = patient_namespace.namespace_token(site.consortium.clinic_b.id)
    path, ds = fresh_ct(tmp_path, PatientID=f"{token_b}~{SHARED_ID}")
    with use_database.factory() as session:
        node = session.scalar(select(DicomNode).where(DicomNode.ae_title == site.node_a))
        assert node is not None
        alias = node_alias(node.id)
    orthanc.client.set_modality(alias, site.node_a, "127.0.0.1", 104)
    try:  # straight into Orthanc's own DICOM port, as before the gateway SCP existed
        assert orthanc_storescu(orthanc, site.node_a, path).returncode == 0
        assert drain_until(orthanc, use_database, ds.StudyInstanceUID, timeout=6) == []
    finally:
        orthanc.client.delete_modality(alias)
    with use_database.factory() as session:
        held = session.scalars(
            select(QuarantineItem).where(QuarantineItem.study_instance_uid == ds.StudyInstanceUID)
        ).all()
    assert [h.reason_code for h in held] == ["foreign_patient_namespace"]


def test_a_released_quarantined_file_is_namespaced_like_a_new_upload(
    site: Site, orthanc: OrthancHandle, use_database: Database, tmp_path: Path
) -> None:
    path, ds = fresh_ct(tmp_path, PatientID=SHARED_ID)
    store = LocalDiskStore(tmp_path / "held")
    key = f"{site.consortium.tenant_id}/quarantine/{uuid.uuid4().hex}.dcm"
    store.put(key, path.read_bytes(), "application/dicom")
    with use_database.factory.begin() as session:
        item = quarantine.hold(
            session,
            source="stow",
            reason_code="unknown_uploader",
            reason="held for the test",
            tenant_id=site.consortium.tenant_id,
            organization_id=site.consortium.clinic_b.id,
            object_key=key,
        )
        item.status = "RELEASING"  # what the admin's release request sets
        item_id = item.id

    with use_database.factory.begin() as session:
        status = release_item(session, item_id=item_id, orthanc=orthanc.client, store=store)

    assert status == "RELEASED"
    [study] = drain_until(orthanc, use_database, ds.StudyInstanceUID)
    stored = orthanc.client.get_study(study.orthanc_id or "")
    token_b = patient_namespace.namespace_token(site.consortium.clinic_b.id)
    assert (study.patient_id, stored.patient_id) == (SHARED_ID, f"{token_b}~{SHARED_ID}")
