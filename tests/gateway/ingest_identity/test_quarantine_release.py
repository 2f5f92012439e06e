"""A C-STORE instance released from quarantine is admitted like a fresh one from its node.

An old device sends GBK bytes labelled ISO_IR 100; its node carries the GB18030 override.
The instance is quarantined by the gateway SCP (here: a pixel-size limit set too low, which
an admin then raises), and the admin releases it through the API. The worker's release must
apply the node's override, namespace the PatientID and fill IssuerOfPatientID exactly as the
SCP does for a fresh C-STORE, so the name reads back in Chinese.
"""

from __future__ import annotations

import io
from pathlib import Path

import pydicom
import pytest
from sqlalchemy import select

from gateway.dicomweb.release import release_item
from gateway.ingest import patient_namespace, validation
from services.models import DicomNode, QuarantineItem
from tests.fixtures.api_client import Api
from tests.fixtures.databases import Database
from tests.fixtures.orthanc import OrthancHandle
from tests.gateway.ingest_identity.conftest import Scp, Site, drain_until, storescu
from tests.gateway.ingest_identity.conftest import set_charset_override as override
from tests.gateway.ingest_identity.test_chinese_text import chinese_ct

pytestmark = pytest.mark.integration


def _quarantined_by_scp(
    scp: Scp, site: Site, db: Database, path: Path, monkeypatch: pytest.MonkeyPatch
) -> QuarantineItem:
    """Send ``path`` from node A while the pixel limit refuses it; return the held item."""
    with monkeypatch.context() as limits:
        limits.setattr(validation, "MAX_PIXEL_BYTES", 16)
        storescu(scp, site.node_a, path)
    with db.factory() as session:
        [item] = session.scalars(
            select(QuarantineItem).where(
                QuarantineItem.organization_id == site.consortium.clinic_a.id
            )
        ).all()
        return item


def test_released_cstore_instance_gets_its_nodes_charset_override_and_namespace(
    *,
    scp: Scp,
    site: Site,
    orthanc: OrthancHandle,
    use_database: Database,
    api: Api,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    override(use_database, site.node_a, "GB18030")
    path, uid = chinese_ct(tmp_path, "ISO_IR 100", "赵六".encode("gbk"), "胸片".encode("gbk"))
    item = _quarantined_by_scp(scp, site, use_database, path, monkeypatch)
    with use_database.factory() as session:
        node = session.scalar(select(DicomNode).where(DicomNode.ae_title == site.node_a))
        assert node is not None
    assert (item.reason_code, item.source, item.dicom_node_id) == (
        "bad_pixel_header",
        "dicom",
        node.id,
    )

    requested = api.post(site.consortium.consortium_admin, f"/api/v1/quarantine/{item.id}/release")
    assert requested.status_code == 202, requested.text
    with use_database.factory.begin() as session:  # what the worker does with the task
        status = release_item(
            session, item_id=item.id, orthanc=orthanc.client, store=scp.gateway.store
        )
    assert status == "RELEASED"

    [study] = drain_until(orthanc, use_database, uid)
    shown = api.get(site.consortium.clinic_staff, f"/api/v1/studies/{study.id}")
    assert shown.status_code == 200
    assert (shown.json()["patient_name"], study.description) == ("赵六", "胸片")
    assert (study.source, study.calling_ae_title) == ("dicom", site.node_a)
    stored = orthanc.client.get_study(study.orthanc_id or "")
    token = patient_namespace.namespace_token(site.consortium.clinic_a.id)
    sent_id = pydicom.dcmread(path).PatientID
    assert (study.patient_id, stored.patient_id) == (sent_id, f"{token}~{sent_id}")
    assert stored.patient_name == "赵六"  # Orthanc decoded it with the override's label
    file = pydicom.dcmread(io.BytesIO(orthanc.client.get_instance_file(stored.instance_ids[0])))
    assert (file.IssuerOfPatientID, file.SpecificCharacterSet) == (
        study.patient_id_issuer,
        "GB18030",
    )
