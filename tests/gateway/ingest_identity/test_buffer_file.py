"""``BufferFile``: pydicom reads a part of the request body where it lies, without a copy."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pydicom import dcmread
from pydicom.data import get_testdata_file

from gateway.ingest.buffer_file import BufferFile, open_buffer
from gateway.ingest.rewrite import Edits, rewrite
from gateway.ingest.validation import inspect_instance


def _ct() -> bytes:
    path = get_testdata_file("CT_small.dcm")
    assert path is not None
    return Path(path).read_bytes()


def test_reads_seeks_and_tells_like_bytesio() -> None:
    data = bytes(range(256)) * 4
    ours, theirs = BufferFile(memoryview(data)[10:900]), io.BytesIO(data[10:900])
    steps: tuple[Callable[[Any], object], ...] = (
        lambda f: f.read(5),
        lambda f: f.seek(100),
        lambda f: f.read(0),
        lambda f: f.seek(-10, io.SEEK_END),
        lambda f: f.read(),
        lambda f: f.read(3),  # past the end: nothing
        lambda f: f.seek(20, io.SEEK_SET) and f.seek(-5, io.SEEK_CUR),
        lambda f: f.tell(),
        lambda f: f.read(-1),
    )
    for step in steps:
        assert step(ours) == step(theirs)
    target = bytearray(4)
    ours.seek(0)
    assert ours.readinto(target) == 4
    assert bytes(target) == data[10:14]
    with pytest.raises(ValueError, match="negative"):
        ours.seek(-1)


def test_bytes_keep_using_bytesio_which_shares_them() -> None:
    assert isinstance(open_buffer(b"DICM"), io.BytesIO)
    assert isinstance(open_buffer(memoryview(b"DICM")), BufferFile)


def test_a_view_is_parsed_rewritten_and_stored_as_its_bytes_would_be() -> None:
    data = _ct()
    body = b"head" + data + b"tail"
    view = memoryview(body)[4 : 4 + len(data)]
    edits = Edits(patient_id_prefix=b"0123456789ab~", issuer_if_empty="clinic-a")

    from_view = inspect_instance(view)
    from_bytes = inspect_instance(data)

    assert from_view.verdict == from_bytes.verdict
    assert rewrite(view, edits, from_view.header) == rewrite(data, edits, from_bytes.header)
    assert dcmread(BufferFile(view)).PatientID == dcmread(io.BytesIO(data)).PatientID
