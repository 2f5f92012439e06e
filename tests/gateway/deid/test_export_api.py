"""The admin API for exports: queue by ids (no PHI in the task), run the task, read status.

Other consortia get 404 for both the studies and the export; non-admins get 403.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from gateway.api.app import create_app
from gateway.api.dependencies import object_store, orthanc_client
from gateway.export.manifest import parse_manifest
from gateway.export.tasks import export_deidentified_task
from services.auth.tokens import TokenClaims, issue_access_token
from services.contracts.task_names import EXPORT_DEIDENTIFIED
from services.kit.db import PUBLISHER
from services.kit.settings import get_settings
from tests.fixtures.consortium import Consortium
from tests.fixtures.databases import Database
from tests.fixtures.orthanc import PASSWORD, USERNAME, OrthancHandle
from tests.gateway.deid.conftest import Stored

pytestmark = pytest.mark.integration
URL = "/api/v1/exports"


def _auth(consortium: Consortium, key: str) -> dict[str, str]:
    user = consortium.users[key]
    claims = TokenClaims(
        subject=str(user.id),
        kind="user",
        tenant_id=user.tenant_id,
        organization_id=user.organization_id,
        roles=frozenset(user.role_names),
        token_id=uuid.uuid4().hex,
    )
    return {"Authorization": f"Bearer {issue_access_token(get_settings(), claims)[0]}"}


@pytest.fixture
def client(
    use_database: Database,
    orthanc: OrthancHandle,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[TestClient]:
    """The gateway app; the worker side reads Orthanc and a local object store from settings."""
    monkeypatch.setenv("RADBRIDGE_ORTHANC__URL", orthanc.http_url)
    monkeypatch.setenv("RADBRIDGE_ORTHANC__USERNAME", USERNAME)
    monkeypatch.setenv("RADBRIDGE_ORTHANC__PASSWORD", PASSWORD)
    monkeypatch.setenv("RADBRIDGE_STORAGE__LOCAL_ROOT", str(tmp_path / "objects"))
    for cache in (get_settings, orthanc_client, object_store):
        cache.cache_clear()
    with TestClient(create_app()) as test_client:
        yield test_client
    for cache in (get_settings, orthanc_client, object_store):
        cache.cache_clear()


def _queued(export_id: str) -> dict[str, Any]:
    sent = [m for m in PUBLISHER.sent if m.task_name == EXPORT_DEIDENTIFIED]
    matching = [m.kwargs for m in sent if m.kwargs["export_id"] == export_id]
    assert len(matching) == 1
    return matching[0]


class TestRequestExport:
    def test_queue_run_and_read_back(self, stored: Stored, client: TestClient) -> None:
        admin = _auth(stored.consortium, "admin")
        body = {"study_ids": [str(s.id) for s in stored.studies]}
        response = client.post(URL, json=body, headers=admin)
        assert response.status_code == 202, response.text
        export_id = response.json()["export_id"]
        assert response.json()["status"] == "QUEUED" and response.json()["studies"] == 3
        kwargs = _queued(export_id)
        assert stored.patient_id not in str(kwargs) and "ACC" not in str(kwargs)
        assert export_deidentified_task(**kwargs) == {"files": 2, "blocked": 1, "refused": 0}
        status = client.get(f"{URL}/{export_id}", headers=admin).json()
        assert (status["status"], status["files"], status["blocked"]) == ("DONE", 2, 1)
        manifest = parse_manifest(object_store().get(status["manifest_key"]))
        assert len(manifest.files) == 2 and manifest.export_id == export_id

    def test_by_accession_number(self, stored: Stored, client: TestClient) -> None:
        body = {"accession_numbers": [stored.studies[1].accession_number]}
        response = client.post(URL, json=body, headers=_auth(stored.consortium, "admin"))
        assert response.status_code == 202 and response.json()["studies"] == 1


class TestTenantIsolation:
    def test_another_consortiums_studies_are_404(self, stored: Stored, client: TestClient) -> None:
        body = {"study_ids": [str(stored.studies[0].id)]}
        response = client.post(URL, json=body, headers=_auth(stored.other, "admin"))
        assert response.status_code == 404
        assert "not found in your consortium" in response.text

    def test_another_consortiums_export_is_404(self, stored: Stored, client: TestClient) -> None:
        body = {"study_ids": [str(stored.studies[0].id)]}
        mine = client.post(URL, json=body, headers=_auth(stored.consortium, "admin")).json()
        theirs = client.get(f"{URL}/{mine['export_id']}", headers=_auth(stored.other, "admin"))
        assert theirs.status_code == 404

    def test_a_radiologist_is_403(self, stored: Stored, client: TestClient) -> None:
        body = {"study_ids": [str(stored.studies[0].id)]}
        response = client.post(URL, json=body, headers=_auth(stored.consortium, "radiologist"))
        assert response.status_code == 403

    def test_an_empty_selection_is_422(self, stored: Stored, client: TestClient) -> None:
        response = client.post(URL, json={}, headers=_auth(stored.consortium, "admin"))
        assert response.status_code == 422 and "select studies" in response.text
