"""DICOM nodes managed over the API take effect at the gateway SCP's next association."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from services.api.app import create_app
from services.models import AuditEvent
from tests.fixtures.api_client import Api
from tests.fixtures.databases import Database
from tests.gateway.ingest_identity.conftest import Scp, Site, echoscu

pytestmark = pytest.mark.integration


@pytest.fixture
def api(use_database: Database) -> Iterator[Api]:
    with TestClient(create_app()) as client:
        yield Api(client)


def test_a_node_added_over_the_api_echoes_and_disabling_it_refuses_it(
    api: Api, scp: Scp, site: Site, use_database: Database
) -> None:
    admin = site.consortium.consortium_admin
    ae = f"NEW{uuid.uuid4().hex[:8].upper()}"
    assert echoscu(scp, ae)[0] != 0  # unknown calling AE title
    body = {
        "organization_id": str(site.consortium.clinic_b.id),
        "ae_title": ae,
        "host": "127.0.0.1",
        "port": 11112,
        "character_set_override": "GBK",
    }
    created = api.post(admin, "/api/v1/dicom-nodes", body)
    assert created.status_code == 201, created.text
    node = created.json()
    assert node["character_set_override"] == "GBK"
    assert echoscu(scp, ae)[0] == 0
    changed = api.client.patch(
        f"/api/v1/dicom-nodes/{node['id']}", json={"enabled": False}, headers=api.headers(admin)
    )
    assert changed.status_code == 200, changed.text
    assert echoscu(scp, ae)[0] != 0
    listed = api.get(admin, "/api/v1/dicom-nodes").json()
    assert {n["ae_title"]: n["enabled"] for n in listed}[ae] is False
    with use_database.factory() as session:
        actions = session.scalars(
            select(AuditEvent.action).where(AuditEvent.object_id == node["id"])
        ).all()
    assert set(actions) == {"dicom_node.created", "dicom_node.changed"}


def test_bad_input_and_other_consortia(api: Api, site: Site, use_database: Database) -> None:
    from tests.factories.tenant import build_consortium

    admin = site.consortium.consortium_admin
    base = {
        "organization_id": str(site.consortium.clinic_a.id),
        "ae_title": "DUPLICATE",
        "host": "10.0.0.5",
    }
    assert (
        api.post(admin, "/api/v1/dicom-nodes", {**base, "ae_title": site.node_a}).status_code == 409
    )
    for bad in (
        {"ae_title": "A\\B"},
        {"ae_title": "THIRTEEN_CHARS_LONG"},
        {"port": 70000},
        {"host": "x; rm -rf /"},
        {"character_set_override": "ISO_IR 100"},
        {"tenant_id": str(uuid.uuid4())},
    ):
        assert api.post(admin, "/api/v1/dicom-nodes", {**base, **bad}).status_code == 422, bad
    assert api.post(site.consortium.radiologist, "/api/v1/dicom-nodes", base).status_code == 403
    other = build_consortium(use_database.factory)
    theirs = {**base, "organization_id": str(other.clinic_a.id), "ae_title": "THEIRS1"}
    assert api.post(admin, "/api/v1/dicom-nodes", theirs).status_code == 404
    mine = api.get(admin, "/api/v1/dicom-nodes").json()
    assert api.get(other.consortium_admin, "/api/v1/dicom-nodes").json() == []
    node_id = mine[0]["id"]
    patched = api.client.patch(
        f"/api/v1/dicom-nodes/{node_id}",
        json={"enabled": False},
        headers=api.headers(other.consortium_admin),
    )
    assert patched.status_code == 404
    fixed = api.client.patch(
        f"/api/v1/dicom-nodes/{node_id}", json={"ae_title": "RENAMED"}, headers=api.headers(admin)
    )
    assert fixed.status_code == 422  # the AE title is the node's identity: add a new node
