"""DICOMweb read access through the gateway, on a real Orthanc and a real database.

``dicomweb-client`` is the viewer; the gateway is served by uvicorn. A study of clinic A is
readable by clinic A and the county hospital's radiologists, and by nobody else (404).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import httpx
import pytest
from dicomweb_client.api import DICOMwebClient
from pydicom.dataset import Dataset
from requests.exceptions import HTTPError
from sqlalchemy import select

from gateway.api.app import create_app
from gateway.api.dependencies import object_store, orthanc_client
from gateway.dicomweb.upstream import OrthancDicomWeb, orthanc_dicomweb
from gateway.ingest.watcher import FEED, ChangeWatcher
from gateway.orthanc.aliases import node_alias
from services.auth.tokens import TokenClaims, issue_access_token
from services.change_feed import service as cursor
from services.kit.settings import get_settings
from services.kit.storage import LocalDiskStore
from services.models import AuditEvent, Study, User
from services.study.routing import configured_routes
from tests.fixtures.consortium import Consortium, build_consortium
from tests.fixtures.databases import Database
from tests.fixtures.dropping_server import answering_once_per_connection
from tests.fixtures.live_server import live_server
from tests.fixtures.orthanc import PASSWORD, USERNAME, OrthancHandle, fresh_ct, last_seq, storescu

pytestmark = pytest.mark.integration


@dataclass
class World:
    """Two consortia, one registered study of consortium 1's clinic A, a served gateway."""

    mine: Consortium
    other: Consortium
    study: Dataset
    url: str

    def client(self, who: str, consortium: Consortium | None = None) -> DICOMwebClient:
        user = (consortium or self.mine).users[who]
        return DICOMwebClient(f"{self.url}/dicomweb", headers=_auth(user))

    def get(self, path: str, who: str = "radiologist", **params: str) -> httpx.Response:
        return httpx.get(
            f"{self.url}/dicomweb{path}", headers=_auth(self.mine.users[who]), params=params
        )


def _auth(user: User) -> dict[str, str]:
    claims = TokenClaims(
        subject=str(user.id),
        kind="user",
        tenant_id=user.tenant_id,
        organization_id=user.organization_id,
        roles=frozenset(user.role_names),
        token_id=uuid.uuid4().hex,
    )
    return {"Authorization": f"Bearer {issue_access_token(get_settings(), claims)[0]}"}


def _register(orthanc: OrthancHandle, db: Database, ae_title: str, path: Path, uid: str) -> None:
    watcher = ChangeWatcher(orthanc.client, configured_routes(get_settings()), db.factory)
    assert storescu(orthanc, ae_title, path).returncode == 0
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        watcher.run_once()
        with db.factory() as session:
            if session.scalar(select(Study.id).where(Study.study_instance_uid == uid)):
                return
        time.sleep(0.3)
    raise AssertionError(f"study {uid} was not registered within 20 s")


@pytest.fixture
def world(use_database: Database, orthanc: OrthancHandle, tmp_path: Path) -> Iterator[World]:
    with use_database.factory.begin() as session:
        mine, other = build_consortium(session), build_consortium(session)
    nodes = (mine.node_a, other.node_a)
    for node in nodes:
        orthanc.client.set_modality(node_alias(node.id), node.ae_title, node.host, node.port)
    with use_database.factory.begin() as session:
        cursor.advance(session, FEED, last_seq(orthanc))
    path, ds = fresh_ct(tmp_path, PatientName="Zhang^San", PatientID=f"P{uuid.uuid4().hex[:6]}")
    _register(orthanc, use_database, mine.node_a.ae_title, path, ds.StudyInstanceUID)

    app = create_app()
    store = LocalDiskStore(tmp_path / "objects")
    upstream = OrthancDicomWeb(orthanc.http_url, USERNAME, PASSWORD)
    app.dependency_overrides[orthanc_client] = lambda: orthanc.client
    app.dependency_overrides[object_store] = lambda: store
    app.dependency_overrides[orthanc_dicomweb] = lambda: upstream
    with live_server(app) as url:
        yield World(mine, other, ds, url)
    upstream.close()
    for node in nodes:
        orthanc.client.delete_modality(node_alias(node.id))


def _uids(ds: Dataset) -> tuple[str, str, str]:
    return str(ds.StudyInstanceUID), str(ds.SeriesInstanceUID), str(ds.SOPInstanceUID)


class TestReaders:
    def test_qido_finds_the_study_for_its_clinic_and_the_hospital(self, world: World) -> None:
        study, series, _ = _uids(world.study)
        for who in ("staff_a", "radiologist", "admin"):
            found = world.client(who).search_for_studies(search_filters={"StudyInstanceUID": study})
            assert [f["0020000D"]["Value"][0] for f in found] == [study], who
        found = world.client("radiologist").search_for_studies(
            search_filters={"PatientName": "Zhang*"}
        )
        assert study in [f["0020000D"]["Value"][0] for f in found]
        assert found[0]["00100010"]["Value"][0]["Alphabetic"] == "Zhang^San"
        got = world.client("radiologist").search_for_series(study_instance_uid=study)
        assert [s["0020000E"]["Value"][0] for s in got] == [series]

    def test_wado_retrieves_instances_metadata_frames_and_images(self, world: World) -> None:
        study, series, sop = _uids(world.study)
        client = world.client("radiologist")

        instances = client.retrieve_study(study)
        assert [str(i.SOPInstanceUID) for i in instances] == [sop]
        assert [str(i.SOPInstanceUID) for i in client.retrieve_series(study, series)] == [sop]
        assert str(client.retrieve_instance(study, series, sop).PatientID) == world.study.PatientID

        metadata = client.retrieve_study_metadata(study)
        assert metadata[0]["00080018"]["Value"] == [sop]
        assert "/dicom-web/" not in str(metadata)
        assert client.retrieve_series_metadata(study, series)[0]["00080018"]["Value"] == [sop]
        assert client.retrieve_instance_metadata(study, series, sop)["00080018"]["Value"] == [sop]
        found = client.search_for_instances(study_instance_uid=study, series_instance_uid=series)
        assert [f["00080018"]["Value"][0] for f in found] == [sop]

        frames = client.retrieve_instance_frames(study, series, sop, frame_numbers=[1])
        assert len(frames) == 1 and len(frames[0]) == 128 * 128 * 2

        rendered = client.retrieve_instance_rendered(study, series, sop, media_types=("image/png",))
        assert rendered[:8] == b"\x89PNG\r\n\x1a\n"
        thumb = world.get(f"/studies/{study}/thumbnail")
        assert thumb.status_code == 200 and thumb.content[:2] == b"\xff\xd8"  # JPEG
        series_png = world.get(f"/studies/{study}/series/{series}/rendered", viewport="64,64")
        assert series_png.status_code == 200

    def test_every_access_is_audited(self, world: World, use_database: Database) -> None:
        study, _, _ = _uids(world.study)
        world.client("radiologist").retrieve_study_metadata(study)
        with use_database.factory() as session:
            actions = session.scalars(
                select(AuditEvent.action).where(
                    AuditEvent.actor == f"user:{world.mine.users['radiologist'].id}"
                )
            ).all()
        assert "dicomweb.metadata" in actions


class TestIsolation:
    def test_the_other_clinic_and_the_other_tenant_get_404_and_empty_searches(
        self, world: World, use_database: Database
    ) -> None:
        study, series, sop = _uids(world.study)
        for who, consortium in (("staff_b", world.mine), ("radiologist", world.other)):
            client = world.client(who, consortium)
            assert client.search_for_studies(search_filters={"StudyInstanceUID": study}) == []
            assert client.search_for_studies(search_filters={"PatientID": "*"}) == [] or all(
                f["0020000D"]["Value"][0] != study
                for f in client.search_for_studies(search_filters={"PatientID": "*"})
            )
            for call in (
                partial(client.retrieve_study, study),
                partial(client.retrieve_study_metadata, study),
                partial(client.retrieve_instance_frames, study, series, sop, [1]),
                partial(client.search_for_series, study_instance_uid=study),
            ):
                with pytest.raises(HTTPError) as caught:
                    call()
                assert caught.value.response is not None, who
                assert caught.value.response.status_code == 404, who
        with use_database.factory() as session:
            denied = session.scalars(
                select(AuditEvent).where(
                    AuditEvent.outcome == "denied",
                    AuditEvent.tenant_id == world.other.tenant.id,
                )
            ).all()
        assert denied and denied[0].detail["study_instance_uid"] == study

    def test_a_token_is_required(self, world: World) -> None:
        response = httpx.get(f"{world.url}/dicomweb/studies")
        assert response.status_code == 401


class TestBadInput:
    @pytest.mark.parametrize(
        "path",
        [
            "/studies/1.2.abc/metadata",
            "/studies/1.2.3.%2E%2E/metadata",
            "/studies/" + "1." * 40 + "1/metadata",
            "/studies/1.2.3/series/..%2F..%2Fsystem",
            "/studies/1.2.3/series/1.2/instances/1.2/frames/0",
        ],
    )
    def test_invalid_uids_are_refused_with_400(self, world: World, path: str) -> None:
        response = world.get(path)
        assert response.status_code in (400, 404), response.text
        if response.status_code == 400:
            assert "UID" in response.json()["message"] or "integer" in response.json()["message"]

    def test_invalid_uid_never_reaches_orthanc(self, world: World) -> None:
        response = world.get("/studies/1.2.abc")
        assert response.status_code == 400
        assert "not a valid DICOM UID" in response.json()["message"]

    def test_bad_query_parameters_get_a_sentence(self, world: World) -> None:
        assert world.get("/studies", StudyDate="yesterday").status_code == 422
        assert world.get("/studies", limit="many").status_code == 422
        assert world.get("/studies", PatientBirthName="x").status_code == 422
        assert world.get("/studies", StudyInstanceUID="1.2.x").status_code == 400
        study, series, sop = _uids(world.study)
        path = f"/studies/{study}/series/{series}/instances/{sop}/rendered"
        assert world.get(path, viewport="99999,1").status_code == 422

    def test_unknown_series_and_instance_are_404(self, world: World) -> None:
        study, series, _ = _uids(world.study)
        assert world.get(f"/studies/{study}/series/1.2.3/metadata").status_code == 404
        assert world.get(f"/studies/{study}/series/{series}/instances/1.2.3").status_code == 404


def test_a_kept_alive_connection_orthanc_dropped_is_replaced_not_reported() -> None:
    """Orthanc closes idle connections after 1 s; a viewer must not see that as a failure."""
    studies = b'[{"0020000D": {"vr": "UI", "Value": ["1.2.3"]}}]'
    with answering_once_per_connection(studies, "application/dicom+json") as url:
        upstream = OrthancDicomWeb(url, USERNAME, PASSWORD)

        answers = [upstream.read_json("/studies") for _ in range(3)]

    assert [answer[0]["0020000D"]["Value"] for answer in answers] == [["1.2.3"]] * 3
