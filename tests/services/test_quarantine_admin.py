"""Quarantine administration: admins of a consortium list, release and delete held items.

Release is carried out by the gateway task on a real Orthanc: the stored file goes through the
same checks as a new upload. Another tenant's item is a 404; non-admins get 403.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydicom.data import get_testdata_file
from sqlalchemy import select

from gateway.dicomweb.release import release_item
from services.api.app import create_app
from services.auth.tokens import TokenClaims, issue_access_token
from services.contracts.task_names import RELEASE_QUARANTINED
from services.kit.db import PUBLISHER
from services.kit.settings import get_settings
from services.kit.storage import LocalDiskStore
from services.models import AuditEvent, QuarantineItem, StudyOrigin, User
from services.quarantine import service as quarantine
from services.quarantine.router import object_store
from tests.fixtures.consortium import Consortium, build_consortium
from tests.fixtures.databases import Database
from tests.fixtures.orthanc import OrthancHandle, fresh_ct

pytestmark = pytest.mark.integration


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


class Env:
    def __init__(self, db: Database, store: LocalDiskStore, client: TestClient) -> None:
        self.db, self.store, self.client = db, store, client
        with db.factory.begin() as session:
            self.mine, self.other = build_consortium(session), build_consortium(session)

    def hold(
        self, consortium: Consortium, data: bytes, code: str = "bad_pixel_header"
    ) -> uuid.UUID:
        key = f"{consortium.tenant.id}/quarantine/{uuid.uuid4().hex}.dcm"
        self.store.put(key, data, "application/dicom")
        with self.db.factory.begin() as session:
            item = quarantine.hold(
                session,
                source="stow",
                reason_code=code,
                reason="test reason",
                tenant_id=consortium.tenant.id,
                organization_id=consortium.clinic_a.id,
                object_key=key,
            )
            return item.id

    def item(self, item_id: uuid.UUID) -> QuarantineItem:
        with self.db.factory() as session:
            found = session.get(QuarantineItem, item_id)
            assert found is not None
            return found


@pytest.fixture
def env(use_database: Database, tmp_path: Path) -> Iterator[Env]:
    store = LocalDiskStore(tmp_path / "objects")
    app = create_app()
    app.dependency_overrides[object_store] = lambda: store
    with TestClient(app) as client:
        yield Env(use_database, store, client)


def _truncated() -> bytes:
    return Path(get_testdata_file("MR_truncated.dcm")).read_bytes()  # type: ignore[arg-type]


def test_admin_lists_held_items_of_their_tenant_with_reasons(env: Env) -> None:
    mine = env.hold(env.mine, _truncated())
    theirs = env.hold(env.other, _truncated())
    response = env.client.get("/api/v1/quarantine", headers=_auth(env.mine.users["admin"]))
    assert response.status_code == 200
    ids = {row["id"] for row in response.json()}
    assert str(mine) in ids and str(theirs) not in ids
    row = next(r for r in response.json() if r["id"] == str(mine))
    assert (row["reason_code"], row["has_file"], row["status"]) == (
        "bad_pixel_header",
        True,
        "HELD",
    )


def test_non_admins_get_403_and_other_tenants_404(env: Env) -> None:
    theirs = env.hold(env.other, _truncated())
    for who in ("radiologist", "staff_a"):
        got = env.client.get("/api/v1/quarantine", headers=_auth(env.mine.users[who]))
        assert got.status_code == 403
    admin = _auth(env.mine.users["admin"])
    assert env.client.delete(f"/api/v1/quarantine/{theirs}", headers=admin).status_code == 404
    released = env.client.post(f"/api/v1/quarantine/{theirs}/release", headers=admin)
    assert released.status_code == 404
    assert "No such quarantined item" in released.json()["message"]
    assert env.item(theirs).status == "HELD"


def test_delete_removes_the_stored_file_and_is_audited(env: Env) -> None:
    item_id = env.hold(env.mine, _truncated())
    key = env.item(item_id).object_key or ""
    admin = _auth(env.mine.users["admin"])

    response = env.client.delete(f"/api/v1/quarantine/{item_id}", headers=admin)

    assert response.status_code == 200 and response.json()["status"] == "DELETED"
    assert not env.store.exists(key)
    again = env.client.delete(f"/api/v1/quarantine/{item_id}", headers=admin)
    assert again.status_code == 409
    with env.db.factory() as session:
        actions = session.scalars(
            select(AuditEvent.action).where(AuditEvent.object_id == str(item_id))
        ).all()
    assert "quarantine.delete" in actions


def test_release_resubmits_a_good_file_and_refuses_a_bad_one(
    env: Env, orthanc: OrthancHandle, tmp_path: Path
) -> None:
    path, _ = fresh_ct(tmp_path)
    good = env.hold(env.mine, path.read_bytes(), code="unknown_uploader")
    bad = env.hold(env.mine, _truncated())
    admin = _auth(env.mine.users["admin"])

    for item_id in (good, bad):
        response = env.client.post(f"/api/v1/quarantine/{item_id}/release", headers=admin)
        assert response.status_code == 202 and response.json()["status"] == "RELEASING"
    sent = [m.kwargs for m in PUBLISHER.sent if m.task_name == RELEASE_QUARANTINED]
    assert {"item_id": str(good)} in sent and {"item_id": str(bad)} in sent

    for item_id in (good, bad):  # what the worker does with the task
        with env.db.factory.begin() as session:
            release_item(session, item_id=item_id, orthanc=orthanc.client, store=env.store)

    assert env.item(good).status == "RELEASED"
    assert env.item(bad).status == "RELEASE_FAILED"
    with env.db.factory() as session:
        origins = session.scalars(
            select(StudyOrigin).where(StudyOrigin.uploaded_by == f"quarantine:{good}")
        ).all()
    assert [o.organization_id for o in origins] == [env.mine.clinic_a.id]
