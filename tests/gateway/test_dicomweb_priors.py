"""A prior from a clinic outside the reading agreements opens in the viewer via its item only.

The rules are the worklist's (``services.worklist.priors.open_prior``): the caller holds the
claim on the current study's item and the prior is a match of that patient in the same
consortium. Without the item, or without the claim, the gateway answers 404 as for any study
the caller cannot see.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from gateway.api.app import create_app as create_gateway
from gateway.api.dependencies import object_store, orthanc_client
from gateway.dicomweb.upstream import OrthancDicomWeb, orthanc_dicomweb
from gateway.ingest.patient_namespace import prefix
from services.api.app import create_app as create_api
from services.kit.storage import LocalDiskStore
from services.models import Tenant
from services.tenant import service as tenant_service
from tests.factories import study as study_factory
from tests.factories import tenant as tenant_factory
from tests.factories.tenant import Consortium
from tests.fixtures.api_client import Api
from tests.fixtures.databases import Database
from tests.fixtures.orthanc import PASSWORD, USERNAME, OrthancHandle, fresh_ct, study_id_of
from tests.services.claims_sla.conftest import add_study

pytestmark = pytest.mark.integration

PATIENT = {"patient_name": "Wang^Wu", "patient_birth_date": "19600101"}


@pytest.fixture
def api(use_database: Database) -> Iterator[Api]:
    with TestClient(create_api()) as client:
        yield Api(client)


@pytest.fixture
def gateway(orthanc: OrthancHandle, tmp_path: Path, use_database: Database) -> Iterator[TestClient]:
    app = create_gateway()
    upstream = OrthancDicomWeb(orthanc.http_url, USERNAME, PASSWORD)
    store = LocalDiskStore(tmp_path / "objects")
    app.dependency_overrides[orthanc_client] = lambda: orthanc.client
    app.dependency_overrides[object_store] = lambda: store
    app.dependency_overrides[orthanc_dicomweb] = lambda: upstream
    with TestClient(app) as client:
        yield client
    upstream.close()


def _far_prior_in_orthanc(
    db: Database, orthanc: OrthancHandle, consortium: Consortium, folder: Path
) -> str:
    """Store a study of clinic C (read by another hospital) in Orthanc; return its UID."""
    with db.factory() as session:
        tenant = session.get_one(Tenant, consortium.tenant_id)
        other = tenant_service.create_organization(
            session, tenant=tenant, code="h2", name="City Hospital", kind="hospital"
        )
        clinic_c = tenant_service.create_organization(
            session, tenant=tenant, code="c", name="Clinic C", kind="clinic"
        )
        tenant_service.add_reading_agreement(session, reader=other, clinic=clinic_c)
        session.commit()
    path, ds = fresh_ct(folder, PatientID=prefix(clinic_c.id).decode() + "C-9")
    orthanc.client.upload_instance(path.read_bytes())
    facts = study_factory.study_facts()
    series = dataclasses.replace(facts.series[0], series_instance_uid=str(ds.SeriesInstanceUID))
    add_study(
        db,
        clinic_c,
        **PATIENT,
        patient_id="C-9",
        study_instance_uid=str(ds.StudyInstanceUID),
        orthanc_id=study_id_of(ds),
        series=(series,),
    )
    return str(ds.StudyInstanceUID)


def test_prior_opens_in_the_viewer_only_through_the_claimed_item(
    api: Api,
    gateway: TestClient,
    use_database: Database,
    orthanc: OrthancHandle,
    tmp_path: Path,
) -> None:
    consortium = tenant_factory.build_consortium(use_database.factory)
    far_uid = _far_prior_in_orthanc(use_database, orthanc, consortium, tmp_path)
    _, item = add_study(use_database, consortium.clinic_a, **PATIENT, patient_id="A-1")
    reader = consortium.radiologist
    headers = api.headers(reader)
    url = f"/dicomweb/studies/{far_uid}/metadata"
    assert gateway.get(url, headers=headers).status_code == 404  # outside the agreements
    with_item = f"{url}?via_item={item.id}"
    assert gateway.get(with_item, headers=headers).status_code == 404  # no claim yet
    assert api.post(reader, f"/api/v1/worklist/{item.id}/claim").status_code == 200
    opened = gateway.get(with_item, headers=headers)
    assert opened.status_code == 200, opened.text
    assert opened.json()[0]["0020000D"]["Value"] == [far_uid]
    by_header = gateway.get(url, headers={**headers, "X-RadBridge-Via-Item": str(item.id)})
    assert by_header.status_code == 200
    assert gateway.get(f"{url}?via_item=not-a-uuid", headers=headers).status_code == 404
    other = tenant_factory.build_consortium(use_database.factory)
    stranger = api.headers(other.radiologist)
    assert gateway.get(with_item, headers=stranger).status_code == 404
