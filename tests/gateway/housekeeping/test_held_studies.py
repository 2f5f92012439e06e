"""Studies quarantined inside Orthanc: admins release them to a clinic or delete them.

Real Orthanc, real watcher, the real API; the gateway tasks run as plain functions. Deleting
works at study level: another study of the same patient stays.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import select

from gateway.ingest.held_studies import delete_held_study, release_held_study
from gateway.orthanc.errors import OrthancNotFound
from services.contracts.task_names import DELETE_HELD_STUDY, RELEASE_HELD_STUDY
from services.kit.db import PUBLISHER
from services.kit.settings import get_settings
from services.models import AuditEvent, QuarantineItem, Study, WorklistItem
from services.quarantine import service as quarantine
from services.study.routing import configured_routes
from tests.fixtures.orthanc import fresh_ct, storescu
from tests.gateway.housekeeping.conftest import World, bearer

pytestmark = [
    pytest.mark.integration,
    pytest.mark.filterwarnings("ignore:Invalid value for VR UI"),
]


def _held_by_watcher(world: World, tmp_path: Path) -> tuple[QuarantineItem, str]:
    """C-STORE a study with an invalid StudyInstanceUID: the watcher holds it for clinic A."""
    bad_uid = f"1.2.826.0.1.0{uuid.uuid4().int % 10**12}"  # a leading zero is not allowed
    path, ds = fresh_ct(tmp_path, StudyInstanceUID=bad_uid)
    assert storescu(world.orthanc, world.consortium.node_a.ae_title, path).returncode == 0
    watcher, item = world.watcher(), None
    for _ in range(60):
        watcher.run_once()
        with world.db.factory() as session:
            item = session.scalar(
                select(QuarantineItem).where(
                    QuarantineItem.study_instance_uid == ds.StudyInstanceUID,
                    QuarantineItem.tenant_id == world.consortium.tenant.id,
                )
            )
        if item is not None:
            break
        time.sleep(0.3)
    assert item is not None and item.orthanc_id
    assert (item.reason_code, item.organization_id) == (
        "invalid_study_uid",
        world.consortium.clinic_a.id,
    )
    return item, str(ds.PatientID)


def _held_behind_our_back(world: World, tmp_path: Path, **tags: str) -> QuarantineItem:
    """Store a good study straight into Orthanc and hold it for the consortium, no clinic."""
    path, _ = fresh_ct(tmp_path, **tags)
    upload = world.orthanc.client.upload_instance(path.read_bytes())
    with world.db.factory.begin() as session:
        return quarantine.hold(
            session,
            source="dicom",
            reason_code="unknown_uploader",
            reason="test: received without a known uploader",
            tenant_id=world.consortium.tenant.id,
            orthanc_id=upload.parent_study,
            study_instance_uid=None,
        )


def _status(world: World, item_id: uuid.UUID) -> str:
    with world.db.factory() as session:
        item = session.get(QuarantineItem, item_id)
        assert item is not None
        return item.status


class TestDelete:
    def test_delete_removes_the_held_study_from_orthanc_and_is_audited(
        self, world: World, tmp_path: Path
    ) -> None:
        item, _ = _held_by_watcher(world, tmp_path)
        response = world.api.delete(f"/api/v1/quarantine/{item.id}", headers=world.admin())
        assert response.status_code == 200 and response.json()["status"] == "DELETING"
        assert {"item_id": str(item.id)} in [
            m.kwargs for m in PUBLISHER.sent if m.task_name == DELETE_HELD_STUDY
        ]
        with world.db.factory.begin() as session:  # what the worker does with the task
            assert delete_held_study(session, item_id=item.id, orthanc=world.orthanc.client) == (
                "DELETED"
            )
        with pytest.raises(OrthancNotFound):
            world.orthanc.client.get_study(item.orthanc_id or "")
        with world.db.factory() as session:
            events = session.scalars(
                select(AuditEvent).where(AuditEvent.object_id == str(item.id))
            ).all()
        deletes = {e.outcome: e for e in events if e.action == "quarantine.delete"}
        assert sorted(deletes) == ["requested", "success"]  # the query has no order: by time
        assert deletes["requested"].at <= deletes["success"].at
        assert deletes["success"].detail == {"orthanc_study_deleted": True, "level": "study"}

    def test_another_study_of_the_same_patient_is_kept(self, world: World, tmp_path: Path) -> None:
        item, patient_id = _held_by_watcher(world, tmp_path)
        path, ds = fresh_ct(tmp_path, PatientID=patient_id)
        assert storescu(world.orthanc, world.consortium.node_a.ae_title, path).returncode == 0
        kept = world.drain_until(ds.StudyInstanceUID)
        assert kept is not None

        world.api.delete(f"/api/v1/quarantine/{item.id}", headers=world.admin())
        with world.db.factory.begin() as session:
            delete_held_study(session, item_id=item.id, orthanc=world.orthanc.client)

        info = world.orthanc.client.get_study(kept.orthanc_id or "")
        assert info.patient_id == patient_id and info.instance_count == 1

    def test_running_the_task_twice_deletes_once(self, world: World, tmp_path: Path) -> None:
        item, _ = _held_by_watcher(world, tmp_path)
        world.api.delete(f"/api/v1/quarantine/{item.id}", headers=world.admin())
        with world.db.factory.begin() as session:
            first = delete_held_study(session, item_id=item.id, orthanc=world.orthanc.client)
        with world.db.factory.begin() as session:
            second = delete_held_study(session, item_id=item.id, orthanc=world.orthanc.client)
        assert (first, second) == ("DELETED", "NOTHING_TO_DO")

    def test_another_consortiums_admin_gets_404(self, world: World, tmp_path: Path) -> None:
        item, _ = _held_by_watcher(world, tmp_path)
        from tests.fixtures.consortium import build_consortium

        with world.db.factory.begin() as session:
            other = build_consortium(session)
        headers = bearer(other.users["admin"])
        assert world.api.delete(f"/api/v1/quarantine/{item.id}", headers=headers).status_code == 404
        assert _status(world, item.id) == "HELD"
        world.orthanc.client.get_study(item.orthanc_id or "")  # still there


class TestRelease:
    def test_release_registers_the_study_for_the_chosen_clinic(
        self, world: World, tmp_path: Path
    ) -> None:
        item = _held_behind_our_back(world, tmp_path)
        body = {"organization_id": str(world.consortium.clinic_b.id)}
        response = world.api.post(
            f"/api/v1/quarantine/{item.id}/release", json=body, headers=world.admin()
        )
        assert response.status_code == 202 and response.json()["status"] == "RELEASING"
        assert {"item_id": str(item.id)} in [
            m.kwargs for m in PUBLISHER.sent if m.task_name == RELEASE_HELD_STUDY
        ]
        with world.db.factory.begin() as session:
            status = release_held_study(
                session,
                item_id=item.id,
                orthanc=world.orthanc.client,
                routes=configured_routes(get_settings()),
            )
        assert status == "RELEASED"
        with world.db.factory() as session:
            study = session.scalar(select(Study).where(Study.orthanc_id == item.orthanc_id))
            assert study is not None
            items = session.scalars(
                select(WorklistItem).where(WorklistItem.study_id == study.id)
            ).all()
        assert study.organization_id == world.consortium.clinic_b.id
        assert (study.status, len(items)) == ("UNREAD", 1)

    def test_release_without_a_known_clinic_asks_for_one(
        self, world: World, tmp_path: Path
    ) -> None:
        item = _held_behind_our_back(world, tmp_path)
        response = world.api.post(f"/api/v1/quarantine/{item.id}/release", headers=world.admin())
        assert response.status_code == 422
        assert "organization_id" in response.json()["message"]
        assert _status(world, item.id) == "HELD"

    def test_release_to_another_consortiums_clinic_is_404(
        self, world: World, tmp_path: Path
    ) -> None:
        item = _held_behind_our_back(world, tmp_path)
        from tests.fixtures.consortium import build_consortium

        with world.db.factory.begin() as session:
            other = build_consortium(session)
        response = world.api.post(
            f"/api/v1/quarantine/{item.id}/release",
            json={"organization_id": str(other.clinic_a.id)},
            headers=world.admin(),
        )
        assert response.status_code == 404
        assert _status(world, item.id) == "HELD"

    def test_a_study_that_is_still_invalid_fails_release_with_the_reason(
        self, world: World, tmp_path: Path
    ) -> None:
        item, _ = _held_by_watcher(world, tmp_path)
        world.api.post(f"/api/v1/quarantine/{item.id}/release", headers=world.admin())
        with world.db.factory.begin() as session:
            status = release_held_study(
                session,
                item_id=item.id,
                orthanc=world.orthanc.client,
                routes=configured_routes(get_settings()),
            )
        assert status == "RELEASE_FAILED"
        with world.db.factory() as session:
            held = session.scalars(
                select(QuarantineItem).where(QuarantineItem.orthanc_id == item.orthanc_id)
            ).all()
            studies = session.scalars(select(Study).where(Study.orthanc_id == item.orthanc_id))
            assert list(studies) == []
        assert [h.status for h in held] == ["RELEASE_FAILED"]  # no second item was created
