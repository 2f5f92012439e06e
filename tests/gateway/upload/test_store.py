"""The on-disk upload store: crash leftovers are cut off, idle uploads are swept."""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

import pytest

from gateway.upload.protocol import UploadLocked
from gateway.upload.store import UploadInfo, UploadStore


def _new(store: UploadStore, length: int = 100) -> UploadInfo:
    return store.create(
        tenant_id=uuid.uuid4(),
        organization_id=uuid.uuid4(),
        created_by="user:x",
        length=length,
        metadata={"filename": "a.dcm"},
    )


def test_bytes_written_past_the_saved_offset_are_cut_before_the_next_write(tmp_path: Path) -> None:
    store = UploadStore(tmp_path)
    info = _new(store)
    with store.open_for_append(info) as data:
        data.write(b"a" * 10)
        store.commit(info, data, 10)
    with store.data_path(info).open("ab") as data:  # a crash after writing, before committing
        data.write(b"junk")

    reloaded = store.load(info.id)
    assert reloaded is not None and reloaded.offset == 10
    with store.open_for_append(reloaded) as data:
        data.write(b"b" * 5)
        store.commit(reloaded, data, 5)

    assert store.data_path(info).read_bytes() == b"a" * 10 + b"b" * 5


def test_a_second_writer_is_refused_while_the_first_holds_the_lock(tmp_path: Path) -> None:
    store = UploadStore(tmp_path)
    info = _new(store)
    with store.locked(info.id), pytest.raises(UploadLocked), store.locked(info.id):
        pass


def test_idle_uploads_are_swept_and_recent_ones_kept(tmp_path: Path) -> None:
    store = UploadStore(tmp_path)
    old, recent = _new(store), _new(store)
    long_ago = time.time() - 4 * 86400
    os.utime(tmp_path / old.id / "info.json", (long_ago, long_ago))

    assert store.sweep(max_idle_s=72 * 3600) == 1

    assert store.load(old.id) is None
    assert store.load(recent.id) is not None


def test_malformed_ids_never_reach_the_file_system(tmp_path: Path) -> None:
    store = UploadStore(tmp_path / "uploads")
    assert store.load("../../etc") is None
    assert store.load("x" * 32) is None


def test_an_upload_half_created_by_a_killed_gateway_is_created_again(tmp_path: Path) -> None:
    """mkdir done, info.json not yet written, process killed: the same id must still work."""
    store = UploadStore(tmp_path)
    upload_id = uuid.uuid4().hex
    (tmp_path / upload_id).mkdir()  # what the killed gateway left

    info = store.create(
        tenant_id=uuid.uuid4(),
        organization_id=uuid.uuid4(),
        created_by="clinic",
        length=100,
        metadata={"filename": "a.dcm"},
        upload_id=upload_id,
    )

    assert info.id == upload_id
    assert store.load(upload_id) == info
    assert (tmp_path / upload_id / "data").exists()
