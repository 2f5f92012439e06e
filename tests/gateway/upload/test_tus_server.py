"""The tus endpoints of the gateway: creation, chunks, checksums, limits, termination, tenancy."""

from __future__ import annotations

import socket
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from services.kit.settings import get_settings
from tests.fixtures.consortium import Consortium, build_consortium
from tests.fixtures.databases import Database
from tests.fixtures.orthanc import OrthancHandle
from tests.gateway.upload.conftest import drain, make_study, token_for
from tests.gateway.upload.tus import TUS, Tus, checksum

pytestmark = pytest.mark.integration


def _uploads_on_disk() -> int:
    folder = get_settings().state_dir / "uploads"
    return len(list(folder.iterdir())) if folder.exists() else 0


class TestDiscovery:
    def test_options_announces_version_extensions_checksums_and_limit(
        self, gateway_url: str
    ) -> None:
        response = httpx.options(f"{gateway_url}/uploads/")

        assert response.status_code == 204
        assert response.headers["tus-version"] == "1.0.0"
        assert set(response.headers["tus-extension"].split(",")) == {
            "creation",
            "termination",
            "checksum",
        }
        assert "sha256" in response.headers["tus-checksum-algorithm"].split(",")
        assert int(response.headers["tus-max-size"]) == get_settings().gateway.upload_max_bytes


class TestChunkedUpload:
    def test_chunks_with_checksums_store_the_file_for_the_uploaders_clinic(
        self,
        tus: Tus,
        consortium: Consortium,
        orthanc: OrthancHandle,
        use_database: Database,
        tmp_path: Path,
    ) -> None:
        study_uid, (path,) = make_study(tmp_path, 1)

        url = tus.send(path.read_bytes(), chunk=7000, filename="IM0000.dcm")

        result = tus.status(url).json()
        assert (result["state"], result["outcome"]["stored"]) == ("stored", 1)
        assert result["outcome"]["studies"] == [study_uid]
        (study,) = drain(orthanc, use_database, study_uid, timeout=20)
        assert (study.organization_id, study.source) == (consortium.clinic_a.id, "upload")

    def test_head_reports_the_offset_to_resume_from(self, tus: Tus, tmp_path: Path) -> None:
        _, (path,) = make_study(tmp_path, 1)
        data = path.read_bytes()
        url = tus.create(len(data), filename="a.dcm").headers["location"]
        assert tus.patch(url, 0, data[:5000]).status_code == 204

        head = tus.head(url)

        assert head.status_code == 200
        assert (head.headers["upload-offset"], head.headers["upload-length"]) == (
            "5000",
            str(len(data)),
        )
        assert head.headers["cache-control"] == "no-store"

    def test_creating_the_same_fingerprinted_file_again_resumes_the_same_upload(
        self, tus: Tus, gateway_url: str, consortium: Consortium, tmp_path: Path
    ) -> None:
        _, (path,) = make_study(tmp_path, 1)
        data = path.read_bytes()
        meta = {"batch": "b-idem", "batch-files": "2", "fingerprint": "a.dcm:sha256:1234"}
        first = tus.create(len(data), filename="a.dcm", **meta).headers["location"]
        assert tus.patch(first, 0, data[:3000]).status_code == 204

        again = tus.create(len(data), filename="a.dcm", **meta).headers["location"]
        other = tus.create(len(data), filename="b.dcm", **{**meta, "fingerprint": "b"})
        clinic_b = Tus(gateway_url, token_for(consortium, "staff_b"))
        theirs = clinic_b.create(len(data), filename="a.dcm", **meta).headers["location"]

        assert again == first  # a client that died before saving the URL gets it back
        assert tus.head(again).headers["upload-offset"] == "3000"
        assert other.headers["location"] != first
        assert theirs != first  # the id is bound to the sending clinic

    def test_a_chunk_at_the_wrong_offset_is_409(self, tus: Tus, tmp_path: Path) -> None:
        _, (path,) = make_study(tmp_path, 1)
        data = path.read_bytes()
        url = tus.create(len(data)).headers["location"]

        response = tus.patch(url, 100, data[100:200])

        assert response.status_code == 409
        assert "stands at byte 0" in response.json()["message"]

    def test_md5_checksums_are_accepted_too(self, tus: Tus, tmp_path: Path) -> None:
        _, (path,) = make_study(tmp_path, 1)
        data = path.read_bytes()
        url = tus.create(len(data)).headers["location"]

        assert tus.patch(url, 0, data, algorithm="md5").status_code == 204
        assert tus.status(url).json()["state"] == "stored"

    def test_a_chunk_that_does_not_match_its_checksum_is_460_and_discarded(
        self, tus: Tus, tmp_path: Path
    ) -> None:
        _, (path,) = make_study(tmp_path, 1)
        data = path.read_bytes()
        url = tus.create(len(data)).headers["location"]
        corrupted = data[:4000] + bytes([data[4000] ^ 0xFF]) + data[4001:8000]

        response = tus.patch(url, 0, corrupted, digest=checksum(data[:8000]))

        assert response.status_code == 460
        assert "checksum" in response.json()["message"]
        assert tus.head(url).headers["upload-offset"] == "0"
        assert tus.patch(url, 0, data[:8000]).status_code == 204  # the clean resend counts
        assert tus.head(url).headers["upload-offset"] == "8000"

    def test_an_unknown_checksum_algorithm_is_400(self, tus: Tus) -> None:
        url = tus.create(10).headers["location"]

        response = tus.patch(url, 0, b"0123456789", digest="crc32 AAAA")

        assert response.status_code == 400
        assert "sha256" in response.json()["message"]

    def test_a_chunk_in_another_content_type_is_415(self, tus: Tus) -> None:
        url = tus.create(10).headers["location"]

        response = httpx.patch(
            url,
            content=b"0123456789",
            headers={**tus.auth, "Upload-Offset": "0", "Content-Type": "application/dicom"},
        )

        assert response.status_code == 415

    def test_a_chunk_past_the_declared_length_is_refused(self, tus: Tus) -> None:
        url = tus.create(10).headers["location"]

        response = tus.patch(url, 0, b"0" * 11)

        assert response.status_code == 400
        assert "Upload-Length" in response.json()["message"]
        assert tus.head(url).headers["upload-offset"] == "0"


class TestLimits:
    def test_a_length_above_the_limit_is_413_before_any_byte_is_read(self, tus: Tus) -> None:
        before = _uploads_on_disk()

        response = tus.create(get_settings().gateway.upload_max_bytes + 1, filename="huge.zip")

        assert response.status_code == 413
        assert "limited to" in response.json()["message"]
        assert _uploads_on_disk() == before

    def test_a_request_without_the_tus_version_is_412(
        self, gateway_url: str, consortium: Consortium
    ) -> None:
        response = httpx.post(
            f"{gateway_url}/uploads/",
            headers={
                "Authorization": f"Bearer {token_for(consortium, 'staff_a')}",
                "Upload-Length": "10",
            },
        )
        assert response.status_code == 412


class TestAccess:
    def test_without_a_token_nothing_is_created(self, gateway_url: str) -> None:
        response = httpx.post(f"{gateway_url}/uploads/", headers={**TUS, "Upload-Length": "10"})
        assert response.status_code == 401

    def test_a_reader_cannot_upload(self, gateway_url: str, consortium: Consortium) -> None:
        tus = Tus(gateway_url, token_for(consortium, "radiologist"))
        assert tus.create(10).status_code == 403

    @pytest.mark.parametrize("intruder", ["other_tenant", "other_clinic"])
    def test_someone_elses_upload_is_404_for_every_method(
        self, gateway_url: str, consortium: Consortium, use_database: Database, intruder: str
    ) -> None:
        owner = Tus(gateway_url, token_for(consortium, "staff_a"))
        url = owner.create(10, filename="a.dcm").headers["location"]
        if intruder == "other_tenant":
            with use_database.factory.begin() as session:
                other = build_consortium(session)
            stranger = Tus(gateway_url, token_for(other, "staff_a"))
        else:
            stranger = Tus(gateway_url, token_for(consortium, "staff_b"))

        responses = [
            stranger.head(url),
            stranger.patch(url, 0, b"0123456789"),
            stranger.status(url),
            stranger.delete(url),
        ]

        assert [r.status_code for r in responses] == [404, 404, 404, 404]
        assert owner.head(url).headers["upload-offset"] == "0"  # untouched


class TestTermination:
    def test_delete_abandons_the_upload(self, tus: Tus) -> None:
        url = tus.create(10).headers["location"]
        assert tus.patch(url, 0, b"01234").status_code == 204

        assert tus.delete(url).status_code == 204
        assert tus.head(url).status_code == 404


def _send_partial(
    url: str, token: str, declared: int, body: bytes, digest: str = ""
) -> socket.socket:
    """Start a PATCH declaring ``declared`` bytes but send only ``body``; return the socket."""
    parts = urlsplit(url)
    sock = socket.create_connection((parts.hostname, parts.port))
    head = (
        f"PATCH {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
        f"Authorization: Bearer {token}\r\nTus-Resumable: 1.0.0\r\nUpload-Offset: 0\r\n"
        f"Content-Type: application/offset+octet-stream\r\nContent-Length: {declared}\r\n"
        + (f"Upload-Checksum: {digest}\r\n" if digest else "")
        + "\r\n"
    )
    sock.sendall(head.encode() + body)
    return sock


def _offset_soon(tus: Tus, url: str, wanted: str) -> str:
    deadline = time.monotonic() + 10
    offset = ""
    while time.monotonic() < deadline:
        offset = tus.head(url).headers["upload-offset"]
        if offset == wanted:
            break
        time.sleep(0.1)
    return offset


class TestCutLink:
    def test_bytes_received_before_the_link_dropped_are_kept(
        self, gateway_url: str, consortium: Consortium
    ) -> None:
        token = token_for(consortium, "staff_a")
        tus = Tus(gateway_url, token)
        url = tus.create(10_000).headers["location"]

        sock = _send_partial(url, token, 10_000, b"x" * 3000)
        time.sleep(0.5)
        sock.close()

        assert _offset_soon(tus, url, "3000") == "3000"

    def test_a_checksummed_chunk_cut_short_is_discarded(
        self, gateway_url: str, consortium: Consortium
    ) -> None:
        token = token_for(consortium, "staff_a")
        tus = Tus(gateway_url, token)
        url = tus.create(10_000).headers["location"]

        sock = _send_partial(url, token, 10_000, b"x" * 3000, checksum(b"x" * 10_000))
        time.sleep(0.5)
        sock.close()
        time.sleep(1)

        assert tus.head(url).headers["upload-offset"] == "0"

    def test_a_stalled_body_is_cut_off_and_the_upload_freed(
        self, gateway_url: str, consortium: Consortium, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("RADBRIDGE_GATEWAY__UPLOAD_IDLE_TIMEOUT_S", "1")
        get_settings.cache_clear()
        token = token_for(consortium, "staff_a")
        tus = Tus(gateway_url, token)
        url = tus.create(10_000).headers["location"]
        sock = _send_partial(url, token, 10_000, b"x" * 2000)
        sock.settimeout(10)

        answer = sock.recv(4096).decode()  # nothing more is sent: the server gives up
        sock.close()

        assert answer.startswith("HTTP/1.1 408")
        assert _offset_soon(tus, url, "2000") == "2000"  # kept, and the lock released
        assert tus.patch(url, 2000, b"y" * 8000, algorithm=None).status_code == 204
