"""Retention: admins set how long studies stay online; the purge takes a study out of Orthanc
only once its archive is proven, on the real Orthanc with local disk and moto's S3 server.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from gateway.archive.copier import verify_archive
from gateway.archive.manifest import instance_key, manifest_key, parse_manifest
from gateway.archive.purge import purge_expired
from gateway.archive.runner import archive_study
from gateway.orthanc.errors import OrthancNotFound
from services.contracts.task_names import ARCHIVE_STUDY
from services.kit.clock import utc_now
from services.kit.db import PUBLISHER
from services.kit.settings import StorageSettings, get_settings
from services.kit.storage import LocalDiskStore, ObjectStore, S3Store
from services.models import AuditEvent, Organization, OrthancPurge, Study
from services.tenant import retention
from tests.fixtures.consortium import build_consortium
from tests.fixtures.orthanc import fresh_ct, storescu
from tests.gateway.housekeeping.conftest import World, bearer

pytestmark = pytest.mark.integration
LATER = timedelta(days=3)  # "now" for the purge: three days after the studies arrived


class TestRetentionApi:
    def test_admin_sets_defaults_and_an_organization_override(self, world: World) -> None:
        c = world.consortium
        put = world.api.put(
            "/api/v1/retention",
            json={"online_days": 30, "archive_days": 3650},
            headers=world.admin(),
        )
        assert put.status_code == 200, put.text
        org = world.api.put(
            f"/api/v1/retention/organizations/{c.clinic_a.id}",
            json={"online_days": 7},
            headers=world.admin(),
        )
        got = world.api.get("/api/v1/retention", headers=world.admin()).json()
        assert org.status_code == 200
        assert got == {
            "online_days": 30,
            "archive_days": 3650,
            "organizations": [{"organization_id": str(c.clinic_a.id), "online_days": 7}],
        }
        with world.db.factory() as session:
            actions = session.scalars(
                select(AuditEvent.action).where(AuditEvent.tenant_id == c.tenant.id)
            ).all()
        assert actions.count("retention.update") == 2

    def test_clearing_an_override_restores_the_default(self, world: World) -> None:
        url = f"/api/v1/retention/organizations/{world.consortium.clinic_b.id}"
        world.api.put(url, json={"online_days": 5}, headers=world.admin())
        cleared = world.api.delete(url, headers=world.admin())
        assert cleared.status_code == 200 and cleared.json()["organizations"] == []

    def test_another_consortiums_organization_is_404(self, world: World) -> None:
        with world.db.factory.begin() as session:
            other = build_consortium(session)
        response = world.api.put(
            f"/api/v1/retention/organizations/{other.clinic_a.id}",
            json={"online_days": 1},
            headers=world.admin(),
        )
        assert response.status_code == 404
        theirs = world.api.get("/api/v1/retention", headers=bearer(other.users["admin"])).json()
        assert theirs["organizations"] == []

    def test_only_admins_may_change_retention(self, world: World) -> None:
        for who in ("radiologist", "staff_a"):
            response = world.api.put(
                "/api/v1/retention",
                json={"online_days": 1},
                headers=bearer(world.consortium.users[who]),
            )
            assert response.status_code == 403

    @pytest.mark.parametrize(
        "body", [{"online_days": 0}, {"online_days": -3}, {"online_days": 30, "tenant_id": "x"}]
    )
    def test_bad_values_are_refused(self, world: World, body: dict[str, object]) -> None:
        response = world.api.put("/api/v1/retention", json=body, headers=world.admin())
        assert response.status_code == 422


@dataclass
class Online:
    """A registered study with AI finished, and the store its archive goes to."""

    study: Study
    store: ObjectStore


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> ObjectStore:
    if request.param == "local":
        return LocalDiskStore(tmp_path / "archive")
    settings: StorageSettings = request.getfixturevalue("s3_settings")
    s3 = S3Store.from_settings(settings)
    s3.ensure_bucket()
    return s3


def _register(world: World, tmp_path: Path, clinic_node_ae: str, **tags: str) -> Study:
    path, ds = fresh_ct(tmp_path, **tags)
    assert storescu(world.orthanc, clinic_node_ae, path).returncode == 0
    study = world.drain_until(ds.StudyInstanceUID)
    assert study is not None
    with world.db.factory.begin() as session:  # the AI run finished meanwhile
        row = session.get(Study, study.id)
        assert row is not None
        row.ai_status = "AI_DONE"
    return study


@pytest.fixture
def online(world: World, store: ObjectStore, tmp_path: Path) -> Online:
    """One study of clinic A, 1-day online retention for the consortium."""
    study = _register(world, tmp_path, world.consortium.node_a.ae_title)
    with world.db.factory.begin() as session:
        retention.set_defaults(
            session,
            actor="test",
            tenant_id=world.consortium.tenant.id,
            online_days=1,
            archive_days=None,
        )
    return Online(study, store)


def _archive(world: World, online: Online) -> None:
    outcome = archive_study(
        online.study.id, orthanc=world.orthanc.client, store=online.store, settings=get_settings()
    )
    assert outcome.status == "ARCHIVED"


def _purge(world: World, online: Online) -> tuple[list[uuid.UUID], dict[str, int]]:
    report = purge_expired(
        orthanc=world.orthanc.client,
        store=online.store,
        factory=world.db.factory,
        now=utc_now() + LATER,
        limit=10_000,
    )
    return report.purged, dict(report.kept)


def _still_online(world: World, study: Study) -> bool:
    try:
        world.orthanc.client.get_study(study.orthanc_id or "")
    except OrthancNotFound:
        return False
    return True


class TestPurge:
    def test_archived_and_verified_study_is_taken_offline_and_the_archive_kept(
        self, world: World, online: Online
    ) -> None:
        _archive(world, online)
        purged, _ = _purge(world, online)

        assert online.study.id in purged
        assert not _still_online(world, online.study)
        m_key = manifest_key(world.consortium.tenant.id, online.study.study_instance_uid)
        assert verify_archive(online.store, m_key) == []
        with world.db.factory() as session:
            study = session.get(Study, online.study.id)
            record = session.scalar(
                select(OrthancPurge).where(OrthancPurge.study_id == online.study.id)
            )
            events = session.scalars(
                select(AuditEvent).where(
                    AuditEvent.study_id == online.study.id, AuditEvent.action == "retention.purge"
                )
            ).all()
        assert study is not None and study.orthanc_id is None
        assert record is not None and (record.instance_count, record.online_days) == (1, 1)
        assert len(events) == 1 and events[0].detail["level"] == "study"

    def test_a_second_run_does_nothing(self, world: World, online: Online) -> None:
        _archive(world, online)
        first, _ = _purge(world, online)
        second, _ = _purge(world, online)
        assert online.study.id in first and online.study.id not in second
        with world.db.factory() as session:
            events = session.scalars(
                select(AuditEvent).where(
                    AuditEvent.study_id == online.study.id, AuditEvent.action == "retention.purge"
                )
            ).all()
        assert len(events) == 1

    def test_a_study_that_is_not_archived_stays_and_is_sent_to_the_archiver(
        self, world: World, online: Online
    ) -> None:
        PUBLISHER.sent.clear()
        purged, kept = _purge(world, online)
        assert online.study.id not in purged and kept.get("not_archived", 0) >= 1
        assert _still_online(world, online.study)
        sent = [m.kwargs for m in PUBLISHER.sent if m.task_name == ARCHIVE_STUDY]
        assert {"study_id": str(online.study.id)} in sent

    def test_a_damaged_archive_keeps_the_study_online(
        self, world: World, online: Online, request: pytest.FixtureRequest
    ) -> None:
        _archive(world, online)
        key = instance_key(
            world.consortium.tenant.id,
            online.study.study_instance_uid,
            _only_sop_uid(world, online.study),
        )
        if isinstance(online.store, LocalDiskStore):
            (online.store.root / key).write_bytes(b"bit rot")
        else:
            assert isinstance(online.store, S3Store)
            raw = request.getfixturevalue("s3_raw_client")
            raw.put_object(Bucket=online.store.bucket, Key=key, Body=b"bit rot")

        purged, kept = _purge(world, online)

        assert online.study.id not in purged and kept.get("archive_damaged", 0) >= 1
        assert _still_online(world, online.study)

    def test_a_late_series_not_yet_archived_keeps_the_study_online(
        self, world: World, online: Online, tmp_path: Path
    ) -> None:
        _archive(world, online)
        info = world.orthanc.client.get_study(online.study.orthanc_id or "")
        late, _ = fresh_ct(
            tmp_path, StudyInstanceUID=online.study.study_instance_uid, PatientID=info.patient_id
        )
        assert storescu(world.orthanc, world.consortium.node_a.ae_title, late).returncode == 0
        time.sleep(0.2)

        purged, kept = _purge(world, online)

        assert online.study.id not in purged and kept.get("not_fully_archived", 0) >= 1
        assert world.orthanc.client.get_study(online.study.orthanc_id or "").instance_count == 2

    def test_a_crash_after_orthancs_delete_is_finished_by_the_next_run(
        self, world: World, online: Online
    ) -> None:
        _archive(world, online)
        world.orthanc.client.delete_study(online.study.orthanc_id or "")  # deleted, not recorded

        purged, _ = _purge(world, online)

        assert online.study.id in purged
        with world.db.factory() as session:
            events = session.scalars(
                select(AuditEvent).where(
                    AuditEvent.study_id == online.study.id, AuditEvent.action == "retention.purge"
                )
            ).all()
        assert [e.detail["deleted_now"] for e in events] == [False]

    def test_an_organization_override_keeps_its_studies_longer(
        self, world: World, online: Online, tmp_path: Path
    ) -> None:
        other = _register(world, tmp_path, world.consortium.node_b.ae_title)
        with world.db.factory.begin() as session:
            clinic_b = session.get(Organization, world.consortium.clinic_b.id)
            assert clinic_b is not None
            retention.set_for_organization(
                session,
                actor="test",
                tenant_id=world.consortium.tenant.id,
                organization_id=clinic_b.id,
                online_days=365,
            )
        _archive(world, online)
        archive_study(
            other.id, orthanc=world.orthanc.client, store=online.store, settings=get_settings()
        )

        purged, _ = _purge(world, online)

        assert online.study.id in purged and other.id not in purged
        assert _still_online(world, other)


def _only_sop_uid(world: World, study: Study) -> str:
    uids = world.orthanc.client.study_sop_instance_uids(study.orthanc_id or "")
    assert len(uids) == 1
    return uids[0]


def test_a_series_arriving_after_the_purge_brings_the_study_back_and_the_archive_grows(
    world: World, online: Online, tmp_path: Path
) -> None:
    _archive(world, online)
    patient_id = world.orthanc.client.get_study(online.study.orthanc_id or "").patient_id
    assert online.study.id in _purge(world, online)[0]
    late, late_ds = fresh_ct(
        tmp_path, StudyInstanceUID=online.study.study_instance_uid, PatientID=patient_id
    )
    assert storescu(world.orthanc, world.consortium.node_a.ae_title, late).returncode == 0
    deadline, back = time.monotonic() + 20, None
    watcher = world.watcher()
    while back is None and time.monotonic() < deadline:
        watcher.run_once()
        with world.db.factory() as session:
            back = session.scalar(select(Study.orthanc_id).where(Study.id == online.study.id))
        time.sleep(0.3)
    assert back is not None, "the study did not come back online"

    _archive(world, online)

    m_key = manifest_key(world.consortium.tenant.id, online.study.study_instance_uid)
    assert verify_archive(online.store, m_key) == []
    listed = {e.sop_instance_uid for e in parse_manifest(online.store.get(m_key)).instances}
    assert len(listed) == 2 and str(late_ds.SOPInstanceUID) in listed
