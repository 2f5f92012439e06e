"""Archiving registered studies to object storage: local disk and a real S3 server (moto).

A study registered by the watcher is copied under ``{tenant}/studies/{uid}/{sop}.dcm`` with a
SHA-256 manifest; a re-run changes nothing; a damaged object is detected and rewritten.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from pydicom.dataset import Dataset
from sqlalchemy import select

from gateway.archive.copier import verify_archive
from gateway.archive.manifest import UnsafeUid, instance_key, manifest_key, sha256_hex
from gateway.archive.runner import archive_study
from gateway.ingest.watcher import FEED, ChangeWatcher
from gateway.orthanc.aliases import node_alias
from services.change_feed import service as cursor
from services.contracts.task_names import ARCHIVE_STUDY
from services.kit.clock import utc_now
from services.kit.db import PUBLISHER
from services.kit.settings import StorageSettings, get_settings
from services.kit.storage import LocalDiskStore, ObjectStore, S3Store
from services.models import ArchiveRecord, Study, Tenant
from services.study.routing import configured_routes
from tests.fixtures.consortium import Consortium, build_consortium
from tests.fixtures.databases import Database
from tests.fixtures.orthanc import OrthancHandle, fresh_ct, last_seq, storescu

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

pytestmark = pytest.mark.integration


@pytest.fixture
def registered(
    use_database: Database, orthanc: OrthancHandle, tmp_path: Path
) -> Iterator[tuple[Consortium, Study, Dataset]]:
    """A consortium (30-day retention) and one study of its clinic A, registered by the watcher."""
    with use_database.factory.begin() as session:
        built = build_consortium(session)
        session.get(Tenant, built.tenant.id).settings = {"archive_retention_days": 30}  # type: ignore[union-attr]
        cursor.advance(session, FEED, last_seq(orthanc))
    node = built.node_a
    orthanc.client.set_modality(node_alias(node.id), node.ae_title, node.host, node.port)
    path, ds = fresh_ct(tmp_path)
    assert storescu(orthanc, node.ae_title, path).returncode == 0
    watcher = ChangeWatcher(orthanc.client, configured_routes(get_settings()), use_database.factory)
    deadline, study = time.monotonic() + 20, None
    while study is None and time.monotonic() < deadline:
        watcher.run_once()
        with use_database.factory() as session:
            study = session.scalar(
                select(Study).where(Study.study_instance_uid == ds.StudyInstanceUID)
            )
        time.sleep(0.3)
    assert study is not None, "the watcher did not register the study within 20 s"
    yield built, study, ds
    orthanc.client.delete_modality(node_alias(node.id))


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> ObjectStore:
    if request.param == "local":
        return LocalDiskStore(tmp_path / "archive")
    settings: StorageSettings = request.getfixturevalue("s3_settings")
    s3 = S3Store.from_settings(settings)
    s3.ensure_bucket()
    return s3


def _corrupt(store: ObjectStore, key: str, request: pytest.FixtureRequest) -> None:
    """Damage an object behind the store's back."""
    if isinstance(store, LocalDiskStore):
        (store.root / key).write_bytes(b"not the archived bytes")
        return
    raw: S3Client = request.getfixturevalue("s3_raw_client")
    assert isinstance(store, S3Store)
    raw.put_object(Bucket=store.bucket, Key=key, Body=b"not the archived bytes")


def test_registration_sends_the_archive_task(
    registered: tuple[Consortium, Study, Dataset],
) -> None:
    _, study, _ = registered
    sent = [m for m in PUBLISHER.sent if m.task_name == ARCHIVE_STUDY]
    assert {"study_id": str(study.id)} in [m.kwargs for m in sent]


def test_archive_writes_verified_objects_and_a_manifest(
    registered: tuple[Consortium, Study, Dataset],
    store: ObjectStore,
    orthanc: OrthancHandle,
    use_database: Database,
) -> None:
    consortium, study, ds = registered
    outcome = archive_study(study.id, orthanc=orthanc.client, store=store, settings=get_settings())

    assert (outcome.status, outcome.uploaded, outcome.instances) == ("ARCHIVED", 1, 1)
    key = instance_key(consortium.tenant.id, ds.StudyInstanceUID, ds.SOPInstanceUID)
    assert key == f"{consortium.tenant.id}/studies/{ds.StudyInstanceUID}/{ds.SOPInstanceUID}.dcm"
    source = orthanc.client.get_instance_file(
        orthanc.client.get_study(study.orthanc_id or "").instance_ids[0]
    )
    assert store.get(key) == source
    manifest = json.loads(store.get(manifest_key(consortium.tenant.id, ds.StudyInstanceUID)))
    assert manifest["algorithm"] == "SHA-256"
    assert manifest["study_instance_uid"] == ds.StudyInstanceUID
    assert manifest["instances"] == [
        {
            "key": key,
            "sha256": sha256_hex(source),
            "size": len(source),
            "sop_instance_uid": ds.SOPInstanceUID,
            "series_instance_uid": ds.SeriesInstanceUID,
        }
    ]
    with use_database.factory() as session:
        record = session.scalar(select(ArchiveRecord).where(ArchiveRecord.study_id == study.id))
    assert record is not None and record.status == "ARCHIVED"
    assert (record.instance_count, record.total_bytes) == (1, len(source))
    assert record.retain_until is not None
    assert abs(record.retain_until - (utc_now() + timedelta(days=30))) < timedelta(minutes=5)
    assert manifest["retain_until"] == record.retain_until.date().isoformat()


def test_rerun_is_idempotent(
    registered: tuple[Consortium, Study, Dataset], store: ObjectStore, orthanc: OrthancHandle
) -> None:
    consortium, study, ds = registered
    archive_study(study.id, orthanc=orthanc.client, store=store, settings=get_settings())
    m_key = manifest_key(consortium.tenant.id, ds.StudyInstanceUID)
    before = store.get(m_key)

    again = archive_study(study.id, orthanc=orthanc.client, store=store, settings=get_settings())

    assert (again.status, again.uploaded, again.repaired) == ("ARCHIVED", 0, ())
    assert store.get(m_key) == before


def test_a_corrupted_object_is_detected_and_rewritten(
    registered: tuple[Consortium, Study, Dataset],
    store: ObjectStore,
    orthanc: OrthancHandle,
    request: pytest.FixtureRequest,
) -> None:
    consortium, study, ds = registered
    archive_study(study.id, orthanc=orthanc.client, store=store, settings=get_settings())
    key = instance_key(consortium.tenant.id, ds.StudyInstanceUID, ds.SOPInstanceUID)
    m_key = manifest_key(consortium.tenant.id, ds.StudyInstanceUID)
    _corrupt(store, key, request)

    assert verify_archive(store, m_key) == [key]
    repaired = archive_study(study.id, orthanc=orthanc.client, store=store, settings=get_settings())
    assert repaired.status == "ARCHIVED" and repaired.repaired == (key,)
    assert verify_archive(store, m_key) == []


@pytest.mark.unit
def test_keys_refuse_anything_but_dicom_uids() -> None:
    tenant = uuid.uuid4()
    for bad in ("../../etc", "1.2/../3", "1.2.3%2f", "1." * 40):
        with pytest.raises(UnsafeUid):
            instance_key(tenant, bad, "1.2.3")
        with pytest.raises(UnsafeUid):
            instance_key(tenant, "1.2.3", bad)
