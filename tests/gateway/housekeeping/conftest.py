"""A consortium on the real Orthanc, the watcher, tokens and the API, for housekeeping tests.

``private_orthanc`` is an Orthanc of this module alone: reconciliation scans every study in
Orthanc, and the session Orthanc holds other tests' studies.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from gateway.ingest.watcher import FEED, ChangeWatcher
from gateway.orthanc.aliases import node_alias
from services.api.app import create_app
from services.auth.tokens import TokenClaims, issue_access_token
from services.change_feed import service as cursor
from services.kit.settings import get_settings
from services.models import ChangeCursor, Study, User
from services.study.routing import configured_routes
from tests.fixtures.consortium import Consortium, build_consortium
from tests.fixtures.databases import Database
from tests.fixtures.orthanc import (
    OrthancHandle,
    last_seq,
    start_orthanc,
)


def bearer(user: User) -> dict[str, str]:
    """Return an Authorization header for ``user`` (token issued like the token endpoint)."""
    claims = TokenClaims(
        subject=str(user.id),
        kind="user",
        tenant_id=user.tenant_id,
        organization_id=user.organization_id,
        roles=frozenset(user.role_names),
        token_id=uuid.uuid4().hex,
    )
    return {"Authorization": f"Bearer {issue_access_token(get_settings(), claims)[0]}"}


@dataclass
class World:
    """One consortium whose DICOM nodes Orthanc knows, with the watcher and the API."""

    db: Database
    orthanc: OrthancHandle
    consortium: Consortium
    api: TestClient

    def watcher(self) -> ChangeWatcher:
        return ChangeWatcher(
            self.orthanc.client, configured_routes(get_settings()), self.db.factory
        )

    def drain_until(self, uid: str, timeout: float = 20) -> Study | None:
        """Run the watcher until the study with ``uid`` is registered (StableAge is 1 s)."""
        watcher = self.watcher()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            watcher.run_once()
            with self.db.factory() as session:
                study = session.scalar(select(Study).where(Study.study_instance_uid == uid))
            if study is not None:
                return study
            time.sleep(0.3)
        return None

    def admin(self) -> dict[str, str]:
        return bearer(self.consortium.users["admin"])


def open_world(db: Database, orthanc: OrthancHandle) -> Iterator[World]:
    """Build a consortium, sync its nodes to ``orthanc``, start the feed at its end."""
    with db.factory.begin() as session:
        built = build_consortium(session)
    for node in (built.node_a, built.node_b):
        orthanc.client.set_modality(node_alias(node.id), node.ae_title, node.host, node.port)
    with db.factory.begin() as session:  # set, not advance: other tests used other Orthancs
        cursor.advance(session, FEED, 0)
        row = session.get(ChangeCursor, FEED)
        assert row is not None
        row.position = last_seq(orthanc)
    with TestClient(create_app()) as client:
        yield World(db, orthanc, built, client)
    for node in (built.node_a, built.node_b):
        orthanc.client.delete_modality(node_alias(node.id))


@pytest.fixture
def world(use_database: Database, orthanc: OrthancHandle) -> Iterator[World]:
    """A consortium on the session Orthanc."""
    yield from open_world(use_database, orthanc)


@pytest.fixture(scope="module")
def private_orthanc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OrthancHandle]:
    """An Orthanc for this test module alone."""
    handle = start_orthanc(tmp_path_factory.mktemp("private-orthanc"))
    try:
        yield handle
    finally:
        handle.client.close()
        handle.process.stop()


@pytest.fixture(scope="module")
def slow_to_settle_orthanc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OrthancHandle]:
    """An Orthanc whose studies stay unstable for a minute: "still arriving", whatever the load."""
    handle = start_orthanc(tmp_path_factory.mktemp("slow-orthanc"), stable_age_s=60)
    try:
        yield handle
    finally:
        handle.client.close()
        handle.process.stop()


@pytest.fixture
def private_world(use_database: Database, private_orthanc: OrthancHandle) -> Iterator[World]:
    """A consortium on the module's own Orthanc, emptied first."""
    for study_id in private_orthanc.client.list_study_ids():
        private_orthanc.client.delete_study(study_id)
    yield from open_world(use_database, private_orthanc)


@pytest.fixture
def arriving_world(
    use_database: Database, slow_to_settle_orthanc: OrthancHandle
) -> Iterator[World]:
    """A consortium on the Orthanc whose studies stay "still arriving"."""
    yield from open_world(use_database, slow_to_settle_orthanc)
