"""Ingest on real components: Orthanc 1.10.1, DCMTK storescu, dicomweb-client, a real database.

A study reaches the right clinic by its calling AE title (C-STORE) or its uploader's token
(STOW-RS); unknown senders and malformed files are quarantined with a reason; replaying the
change feed duplicates nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pydicom
import pytest
from dicomweb_client.api import DICOMwebClient
from pydicom.data import get_testdata_file
from sqlalchemy import func, select

from gateway.api.app import create_app
from gateway.api.dependencies import object_store, orthanc_client
from gateway.ingest.watcher import FEED, ChangeWatcher
from gateway.orthanc.aliases import node_alias
from services.auth.tokens import TokenClaims, issue_access_token
from services.change_feed import service as cursor
from services.kit.db import PUBLISHER
from services.kit.settings import get_settings
from services.kit.storage import LocalDiskStore
from services.models import InferenceJob, QuarantineItem, Series, Study, WorklistItem
from services.study.routing import configured_routes
from tests.fixtures.consortium import Consortium, build_consortium
from tests.fixtures.databases import Database
from tests.fixtures.live_server import live_server
from tests.fixtures.multipart import multipart_related
from tests.fixtures.orthanc import OrthancHandle, fresh_ct, last_seq, storescu

pytestmark = pytest.mark.integration


@pytest.fixture
def consortium(use_database: Database, orthanc: OrthancHandle) -> Iterator[Consortium]:
    with use_database.factory.begin() as session:
        built = build_consortium(session)
    for node in (built.node_a, built.node_b):
        orthanc.client.set_modality(node_alias(node.id), node.ae_title, node.host, node.port)
    with use_database.factory.begin() as session:  # only changes from now on concern this test
        cursor.advance(session, FEED, last_seq(orthanc))
    yield built
    for node in (built.node_a, built.node_b):
        orthanc.client.delete_modality(node_alias(node.id))


def _watcher(orthanc: OrthancHandle, db: Database) -> ChangeWatcher:
    return ChangeWatcher(orthanc.client, configured_routes(get_settings()), db.factory)


def _drain_until(
    watcher: ChangeWatcher, db: Database, uid: str, timeout: float = 20
) -> Study | None:
    """Run the watcher until the study with ``uid`` is registered (StableAge is 1 s here)."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        watcher.run_once()
        with db.factory() as session:
            study = session.scalar(select(Study).where(Study.study_instance_uid == uid))
            if study is not None:
                return study
        time.sleep(0.3)
    return None


def _token(consortium: Consortium, key: str) -> str:
    user = consortium.users[key]
    claims = TokenClaims(
        subject=str(user.id),
        kind="user",
        tenant_id=user.tenant_id,
        organization_id=user.organization_id,
        roles=frozenset(user.role_names),
        token_id=uuid.uuid4().hex,
    )
    return issue_access_token(get_settings(), claims)[0]


class TestCStore:
    def test_registered_clinic_study_reaches_its_worklist_with_ai_jobs(
        self, orthanc: OrthancHandle, consortium: Consortium, use_database: Database, tmp_path: Path
    ) -> None:
        path, ds = fresh_ct(tmp_path)
        assert storescu(orthanc, consortium.node_a.ae_title, path).returncode == 0

        study = _drain_until(_watcher(orthanc, use_database), use_database, ds.StudyInstanceUID)

        assert study is not None
        assert study.organization_id == consortium.clinic_a.id
        assert study.calling_ae_title == consortium.node_a.ae_title
        assert (study.status, study.ai_status) == ("UNREAD", "AI_PENDING")
        with use_database.factory() as session:
            item = session.scalar(select(WorklistItem).where(WorklistItem.study_id == study.id))
            jobs = list(
                session.scalars(select(InferenceJob).where(InferenceJob.study_id == study.id))
            )
        assert item is not None and item.reader_org_id == consortium.hospital.id
        assert [(j.model_name, j.status) for j in jobs] == [("image_quality", "QUEUED")]
        sent = [m for m in PUBLISHER.sent if m.task_name == "inference.run_job"]
        assert {"job_id": str(jobs[0].id)} in [m.kwargs for m in sent]

    def test_replaying_the_change_feed_duplicates_nothing(
        self, orthanc: OrthancHandle, consortium: Consortium, use_database: Database, tmp_path: Path
    ) -> None:
        path, ds = fresh_ct(tmp_path)
        start = last_seq(orthanc)
        storescu(orthanc, consortium.node_b.ae_title, path)
        watcher = _watcher(orthanc, use_database)
        assert _drain_until(watcher, use_database, ds.StudyInstanceUID) is not None

        with use_database.factory.begin() as session:  # a crash before the cursor was saved
            session.get(type(cursor), FEED) if False else None
            from services.models import ChangeCursor

            session.get(ChangeCursor, FEED).position = start  # type: ignore[union-attr]
        while watcher.run_once():
            pass

        with use_database.factory() as session:
            count = session.scalar(
                select(func.count())
                .select_from(Study)
                .where(Study.study_instance_uid == ds.StudyInstanceUID)
            )
            study_id = session.scalar(
                select(Study.id).where(Study.study_instance_uid == ds.StudyInstanceUID)
            )
            jobs = session.scalar(
                select(func.count())
                .select_from(InferenceJob)
                .where(InferenceJob.study_id == study_id)
            )
            items = session.scalar(
                select(func.count())
                .select_from(WorklistItem)
                .where(WorklistItem.study_id == study_id)
            )
        assert (count, jobs, items) == (1, 1, 1)

    def test_late_series_is_added_to_the_registered_study(
        self, orthanc: OrthancHandle, consortium: Consortium, use_database: Database, tmp_path: Path
    ) -> None:
        path, ds = fresh_ct(tmp_path)
        storescu(orthanc, consortium.node_a.ae_title, path)
        watcher = _watcher(orthanc, use_database)
        study = _drain_until(watcher, use_database, ds.StudyInstanceUID)
        assert study is not None

        late, _ = fresh_ct(tmp_path, StudyInstanceUID=ds.StudyInstanceUID, PatientID=ds.PatientID)
        storescu(orthanc, consortium.node_a.ae_title, late)
        import time

        deadline = time.monotonic() + 20
        series_count = 1
        while time.monotonic() < deadline and series_count < 2:
            watcher.run_once()
            with use_database.factory() as session:
                series_count = (
                    session.scalar(
                        select(func.count()).select_from(Series).where(Series.study_id == study.id)
                    )
                    or 0
                )
            time.sleep(0.3)
        assert series_count == 2

    def test_unregistered_ae_title_is_refused_at_association(
        self, orthanc: OrthancHandle, consortium: Consortium, use_database: Database, tmp_path: Path
    ) -> None:
        path, ds = fresh_ct(tmp_path)
        result = storescu(orthanc, "INTRUDER", path)
        assert result.returncode != 0
        watcher = _watcher(orthanc, use_database)
        assert _drain_until(watcher, use_database, ds.StudyInstanceUID, timeout=3) is None

    def test_study_stored_behind_the_gateways_back_is_quarantined(
        self, orthanc: OrthancHandle, consortium: Consortium, use_database: Database, tmp_path: Path
    ) -> None:
        path, ds = fresh_ct(tmp_path)
        upload = orthanc.client.upload_instance(path.read_bytes())  # no uploader recorded
        watcher = _watcher(orthanc, use_database)
        _drain_until(watcher, use_database, ds.StudyInstanceUID, timeout=4)
        with use_database.factory() as session:
            held = session.scalar(
                select(QuarantineItem).where(QuarantineItem.orthanc_id == upload.parent_study)
            )
            studies = session.scalar(
                select(func.count())
                .select_from(Study)
                .where(Study.study_instance_uid == ds.StudyInstanceUID)
            )
        assert held is not None and held.reason_code == "unknown_uploader"
        assert studies == 0


class TestStow:
    @pytest.fixture
    def gateway_url(self, orthanc: OrthancHandle, tmp_path: Path) -> Iterator[str]:
        app = create_app()
        store = LocalDiskStore(tmp_path / "objects")
        app.dependency_overrides[orthanc_client] = lambda: orthanc.client
        app.dependency_overrides[object_store] = lambda: store
        with live_server(app) as url:
            yield url

    def test_dicomweb_client_upload_is_owned_by_the_uploaders_clinic(
        self,
        orthanc: OrthancHandle,
        consortium: Consortium,
        use_database: Database,
        gateway_url: str,
        tmp_path: Path,
    ) -> None:
        _, ds = fresh_ct(tmp_path)
        client = DICOMwebClient(
            f"{gateway_url}/dicomweb",
            headers={"Authorization": f"Bearer {_token(consortium, 'staff_b')}"},
        )
        response = client.store_instances([ds])
        assert response.ReferencedSOPSequence[0].ReferencedSOPInstanceUID == ds.SOPInstanceUID

        study = _drain_until(_watcher(orthanc, use_database), use_database, ds.StudyInstanceUID)
        assert study is not None
        assert (study.organization_id, study.source) == (consortium.clinic_b.id, "stow")

    def test_malformed_file_is_quarantined_with_its_reason(
        self, consortium: Consortium, use_database: Database, gateway_url: str
    ) -> None:
        broken = Path(get_testdata_file("MR_truncated.dcm")).read_bytes()  # type: ignore[arg-type]
        body, content_type = multipart_related([broken])
        response = httpx.post(
            f"{gateway_url}/dicomweb/studies",
            content=body,
            headers={
                "Content-Type": content_type,
                "Authorization": f"Bearer {_token(consortium, 'staff_a')}",
            },
        )
        assert response.status_code == 409
        failed = response.json()["00081198"]["Value"][0]
        assert failed["00081197"]["Value"] == [0xC000]
        with use_database.factory() as session:
            held = session.scalars(
                select(QuarantineItem).where(
                    QuarantineItem.organization_id == consortium.clinic_a.id
                )
            ).all()
        assert [h.reason_code for h in held] == ["truncated"]
        assert held[0].object_key and held[0].object_key.startswith(str(consortium.tenant.id))

    def test_upload_needs_a_token_and_an_uploader_role(
        self, consortium: Consortium, use_database: Database, gateway_url: str
    ) -> None:
        ct = Path(get_testdata_file("CT_small.dcm")).read_bytes()  # type: ignore[arg-type]
        body, content_type = multipart_related([ct])
        anonymous = httpx.post(
            f"{gateway_url}/dicomweb/studies", content=body, headers={"Content-Type": content_type}
        )
        reader = httpx.post(
            f"{gateway_url}/dicomweb/studies",
            content=body,
            headers={
                "Content-Type": content_type,
                "Authorization": f"Bearer {_token(consortium, 'radiologist')}",
            },
        )
        assert anonymous.status_code == 401 and "Sign in" in anonymous.json()["message"]
        assert reader.status_code == 403

    def test_oversized_and_compressed_bodies_are_refused_before_reading(
        self, consortium: Consortium, use_database: Database, gateway_url: str
    ) -> None:
        auth = {"Authorization": f"Bearer {_token(consortium, 'staff_a')}"}
        ctype = 'multipart/related; type="application/dicom"; boundary=x'
        huge_status = _raw_post_status(
            gateway_url,
            "/dicomweb/studies",
            {**auth, "Content-Type": ctype, "Content-Length": str(10**12)},
        )
        gz = httpx.post(
            f"{gateway_url}/dicomweb/studies",
            content=b"--x--",
            headers={**auth, "Content-Type": ctype, "Content-Encoding": "gzip"},
        )
        assert huge_status == 413
        assert gz.status_code == 415


def _raw_post_status(base_url: str, path: str, headers: dict[str, str]) -> int:
    """Send only the headers of a POST that claims a huge body; return the answer's status."""
    import socket
    from urllib.parse import urlparse

    url = urlparse(base_url)
    lines = [
        f"POST {path} HTTP/1.1",
        f"Host: {url.netloc}",
        *(f"{k}: {v}" for k, v in headers.items()),
    ]
    with socket.create_connection((url.hostname, url.port), timeout=10) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        answer = sock.recv(4096).decode("latin-1")
    return int(answer.split(" ", 2)[1])


def test_pydicom_reads_what_we_send() -> None:
    ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))  # type: ignore[arg-type]
    assert ds.Modality == "CT"
