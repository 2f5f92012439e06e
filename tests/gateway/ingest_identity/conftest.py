"""The gateway's DICOM SCP in front of the session Orthanc, with a fresh consortium per test.

Peers are real: DCMTK ``storescu``/``echoscu`` and pynetdicom; Orthanc 1.10.1 stores; the
change-feed watcher registers studies in the test database (SQLite and PostgreSQL).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from gateway.api.app import create_app
from gateway.api.dependencies import object_store, orthanc_client
from gateway.ingest.watcher import FEED, ChangeWatcher
from gateway.orthanc import LocalOrthanc
from gateway.scp.nodes import NodeDirectory
from gateway.scp.server import DicomGateway
from services.auth.tokens import TokenClaims, issue_access_token
from services.change_feed import service as cursor
from services.kit.settings import get_settings
from services.kit.storage import LocalDiskStore
from services.models import DicomNode, Study
from services.study.routing import configured_routes
from services.tenant import service as tenant_service
from tests.factories.tenant import Account, Consortium, build_consortium
from tests.fixtures.databases import Database
from tests.fixtures.live_server import live_server
from tests.fixtures.orthanc import (
    ECHOSCU,
    PASSWORD,
    STORESCU,
    USERNAME,
    OrthancHandle,
    free_port,
    last_seq,
    run_dcmtk,
    start_orthanc,
)

SCP_AET = "RBGATEWAY"


@dataclass
class Site:
    """A consortium whose two clinics each have a registered DICOM node."""

    consortium: Consortium
    node_a: str  # calling AE titles
    node_b: str


@dataclass
class Scp:
    """The running gateway SCP."""

    gateway: DicomGateway
    port: int
    ae_title: str = SCP_AET


@pytest.fixture
def site(use_database: Database, orthanc: OrthancHandle) -> Site:
    consortium = build_consortium(use_database.factory)
    tag = uuid.uuid4().hex[:6].upper()
    with use_database.factory.begin() as session:
        for org, letter in ((consortium.clinic_a, "A"), (consortium.clinic_b, "B")):
            clinic = session.merge(org)
            tenant_service.register_dicom_node(
                session, organization=clinic, ae_title=f"{letter}{tag}", host="127.0.0.1", port=104
            )
        cursor.advance(session, FEED, last_seq(orthanc))  # only this test's changes matter
    return Site(consortium, f"A{tag}", f"B{tag}")


@pytest.fixture
def own_orthanc(tmp_path: Path) -> Iterator[LocalOrthanc]:
    """An Orthanc this test may stop and start again (same ports, same storage)."""
    handle = start_orthanc(tmp_path / "orthanc")
    yield handle.process
    handle.client.close()
    handle.process.stop()


def sop_uids_in(orthanc: LocalOrthanc) -> list[str]:
    """Return the SOP Instance UID of every instance ``orthanc`` holds."""
    url = orthanc.config.http_url
    with httpx.Client(auth=(USERNAME, PASSWORD), timeout=10) as http:
        return [
            http.get(f"{url}/instances/{i}/simplified-tags").json()["SOPInstanceUID"]
            for i in http.get(f"{url}/instances").json()
        ]


def set_charset_override(db: Database, ae_title: str, charset: str) -> None:
    with db.factory.begin() as session:
        node = session.scalar(select(DicomNode).where(DicomNode.ae_title == ae_title))
        assert node is not None
        node.character_set_override = charset


@pytest.fixture
def scp(orthanc: OrthancHandle, use_database: Database, tmp_path: Path) -> Iterator[Scp]:
    gateway = DicomGateway(
        ae_title=SCP_AET,
        orthanc=orthanc.client,
        store=LocalDiskStore(tmp_path / "objects"),
        directory=NodeDirectory(use_database.factory),
        spool_dir=tmp_path / "scp-spool",
        timeout_s=10,
    )
    _, port = gateway.start("127.0.0.1", free_port())
    yield Scp(gateway, port)
    gateway.stop()


@pytest.fixture
def gateway_url(orthanc: OrthancHandle, tmp_path: Path) -> Iterator[str]:
    """The gateway HTTP app (STOW-RS) served by uvicorn, in front of the session Orthanc."""
    app = create_app()
    store = LocalDiskStore(tmp_path / "stow-objects")
    app.dependency_overrides[orthanc_client] = lambda: orthanc.client
    app.dependency_overrides[object_store] = lambda: store
    with live_server(app) as url:
        yield url


def storescu(scp: Scp, calling_aet: str, *paths: Path) -> tuple[int, str]:
    result = run_dcmtk(
        STORESCU, "-aet", calling_aet, "-aec", scp.ae_title, "127.0.0.1", scp.port, *paths
    )
    return result.returncode, result.stdout + result.stderr


def echoscu(scp: Scp, calling_aet: str) -> tuple[int, str]:
    result = run_dcmtk(ECHOSCU, "-aet", calling_aet, "-aec", scp.ae_title, "127.0.0.1", scp.port)
    return result.returncode, result.stdout + result.stderr


def watcher(orthanc: OrthancHandle, db: Database) -> ChangeWatcher:
    return ChangeWatcher(orthanc.client, configured_routes(get_settings()), db.factory)


def drain_until(
    orthanc: OrthancHandle, db: Database, uid: str, count: int = 1, timeout: float = 20
) -> list[Study]:
    """Run the watcher until ``count`` studies with ``uid`` are registered (StableAge 1 s)."""
    feed = watcher(orthanc, db)
    deadline = time.monotonic() + timeout
    while True:
        feed.run_once()
        with db.factory() as session:
            studies = list(session.scalars(select(Study).where(Study.study_instance_uid == uid)))
        if len(studies) >= count or time.monotonic() > deadline:
            return studies
        time.sleep(0.3)


def bearer(consortium: Consortium, account: Account) -> str:
    claims = TokenClaims(
        subject=str(account.user_id),
        kind="user",
        tenant_id=consortium.tenant_id,
        organization_id=account.organization_id,
        roles=frozenset({account.role.value}),
        token_id=uuid.uuid4().hex,
    )
    return issue_access_token(get_settings(), claims)[0]
