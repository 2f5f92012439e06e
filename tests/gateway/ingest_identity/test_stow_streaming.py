"""A large STOW-RS part goes on to Orthanc while it arrives, and gives up nothing for it.

Real uvicorn, real Orthanc, real HTTP clients. ``StreamingUploader.upload`` is wrapped only to
see which way each request went (streamed, or abandoned and stored the usual way).
"""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field

import httpx
import pydicom
import pytest

from gateway.bench.data import make_files
from gateway.dicomweb import stow_stream
from gateway.ingest import patient_namespace
from gateway.orthanc.stream_upload import Abandon, StreamingUploader
from tests.fixtures.orthanc import PASSWORD, USERNAME, OrthancHandle
from tests.gateway.ingest_identity.conftest import Site, bearer

pytestmark = pytest.mark.integration
SIDE = 1600  # 1600 x 1600 x 16 bit: a 5 MB radiograph, above STOW streaming's 4 MiB
BOUNDARY = "radbridge-test-boundary"
CONTENT_TYPE = f'multipart/related; type="application/dicom"; boundary={BOUNDARY}'


@dataclass
class Uploads:
    """What each streaming upload ended in: "stored", "abandoned" or an error's name."""

    ends: list[str] = field(default_factory=list)


@pytest.fixture
def uploads(monkeypatch: pytest.MonkeyPatch) -> Uploads:
    seen = Uploads()
    upload = StreamingUploader.upload

    async def watched(self: StreamingUploader, body: AsyncIterator[bytes]) -> object:
        try:
            result = await upload(self, body)
        except Abandon:
            seen.ends.append("abandoned")
            raise
        except Exception as exc:
            seen.ends.append(type(exc).__name__)
            raise
        seen.ends.append("stored")
        return result

    monkeypatch.setattr(StreamingUploader, "upload", watched)
    return seen


def _multipart(*files: bytes) -> bytes:
    parts = [
        b"--%s\r\nContent-Type: application/dicom\r\n\r\n%s\r\n" % (BOUNDARY.encode(), data)
        for data in files
    ]
    return b"".join(parts) + b"--%s--\r\n" % BOUNDARY.encode()


def _post(url: str, token: str, body: bytes | Iterator[bytes], length: int) -> httpx.Response:
    headers = {
        "Authorization": f"Bearer {token}",
        "Content-Type": CONTENT_TYPE,
        "Content-Length": str(length),
    }
    return httpx.post(f"{url}/dicomweb/studies", content=body, headers=headers, timeout=60)


def _stored_file(orthanc: OrthancHandle, sop_instance_uid: str) -> bytes | None:
    found = httpx.post(
        f"{orthanc.http_url}/tools/lookup", content=sop_instance_uid, auth=(USERNAME, PASSWORD)
    ).json()
    ids = [f["ID"] for f in found if f["Type"] == "Instance"]
    return orthanc.client.get_instance_file(ids[0]) if ids else None


def _uid(data: bytes) -> str:
    return str(pydicom.dcmread(io.BytesIO(data), stop_before_pixels=True).SOPInstanceUID)


def test_a_large_part_is_streamed_into_orthanc_namespaced_and_whole(
    site: Site, orthanc: OrthancHandle, gateway_url: str, uploads: Uploads
) -> None:
    (data,) = make_files(1, large=True, side=SIDE)
    body = _multipart(data)

    answer = _post(
        gateway_url, bearer(site.consortium, site.consortium.clinic_staff), body, len(body)
    )

    assert answer.status_code == 200, answer.text
    assert uploads.ends == ["stored"]
    stored = _stored_file(orthanc, _uid(data))
    assert stored is not None
    sent, kept = pydicom.dcmread(io.BytesIO(data)), pydicom.dcmread(io.BytesIO(stored))
    assert patient_namespace.split(kept.PatientID) == (
        patient_namespace.namespace_token(site.consortium.clinic_a.id),
        sent.PatientID,
    )
    assert kept.IssuerOfPatientID
    assert kept.PixelData == sent.PixelData


def test_a_part_declaring_more_than_the_body_holds_is_refused_before_streaming(
    site: Site, orthanc: OrthancHandle, gateway_url: str, uploads: Uploads
) -> None:
    (data,) = make_files(1, large=True, side=SIDE)
    body = _multipart(data[:-200_000])  # pixel data shorter than its header declares
    token = bearer(site.consortium, site.consortium.clinic_staff)

    answer = _post(gateway_url, token, body, len(body))

    assert answer.status_code == 409, answer.text
    assert "truncated" in answer.text
    assert uploads.ends == []  # the head already showed it cannot fit: nothing was streamed
    assert _stored_file(orthanc, _uid(data)) is None


def test_a_part_cut_short_behind_an_epilogue_is_abandoned_and_orthanc_keeps_nothing(
    site: Site, orthanc: OrthancHandle, gateway_url: str, uploads: Uploads
) -> None:
    (data,) = make_files(1, large=True, side=SIDE)
    body = _multipart(data[:-200_000]) + b"x" * 300_000  # an epilogue hides the cut
    token = bearer(site.consortium, site.consortium.clinic_staff)

    answer = _post(gateway_url, token, body, len(body))

    assert answer.status_code == 409, answer.text
    assert "truncated" in answer.text
    assert uploads.ends == ["abandoned"]  # streamed, then given up before its last chunk
    assert _stored_file(orthanc, _uid(data)) is None


def test_two_large_parts_are_each_stored_once(
    site: Site, orthanc: OrthancHandle, gateway_url: str, uploads: Uploads
) -> None:
    first, second = make_files(2, large=True, side=SIDE)
    body = _multipart(first, second)

    answer = _post(
        gateway_url, bearer(site.consortium, site.consortium.clinic_staff), body, len(body)
    )

    assert answer.status_code == 200, answer.text
    assert uploads.ends == ["abandoned"]  # the first part's stream; both then the usual way
    for data in (first, second):
        stored = _stored_file(orthanc, _uid(data))
        assert stored is not None
        assert (
            pydicom.dcmread(io.BytesIO(stored)).PixelData
            == pydicom.dcmread(io.BytesIO(data)).PixelData
        )


def test_a_sender_that_stalls_is_not_streamed_to_orthanc_and_is_stored_all_the_same(
    site: Site,
    orthanc: OrthancHandle,
    gateway_url: str,
    uploads: Uploads,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(stow_stream, "STALL_S", 0.2)
    (data,) = make_files(1, large=True, side=SIDE)
    body = _multipart(data)

    def slow_link() -> Iterator[bytes]:
        yield body[: 3 * 2**20]
        time.sleep(1.0)  # Orthanc must not wait on a slow clinic's link
        yield body[3 * 2**20 :]

    answer = _post(
        gateway_url, bearer(site.consortium, site.consortium.clinic_staff), slow_link(), len(body)
    )

    assert answer.status_code == 200, answer.text
    assert uploads.ends == ["abandoned"]
    assert _stored_file(orthanc, _uid(data)) is not None


def test_an_abandoned_upload_leaves_nothing_in_orthanc(orthanc: OrthancHandle) -> None:
    (data,) = make_files(1, large=True, side=SIDE)
    uploader = orthanc.client.stream_uploader

    async def half_then_abandon() -> AsyncIterator[bytes]:
        yield data[: len(data) // 2]
        raise Abandon

    with pytest.raises(Abandon):
        asyncio.run(uploader.upload(half_then_abandon()))

    assert _stored_file(orthanc, _uid(data)) is None
