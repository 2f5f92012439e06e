"""Orthanc started from the rendered config: locked down, and failing fast when it is gone."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from gateway.orthanc import (
    LocalOrthanc,
    OrthancClient,
    OrthancRejected,
    OrthancStartError,
    OrthancUnavailable,
)
from tests.fixtures import orthanc as orthanc_fixtures
from tests.fixtures.dropping_server import answering_once_per_connection
from tests.fixtures.orthanc import (
    PASSWORD,
    USERNAME,
    OrthancHandle,
    fresh_ct,
    make_config,
    require_orthanc,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def http(orthanc: OrthancHandle) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=orthanc.http_url, timeout=5, trust_env=False) as client:
        yield client


@pytest.fixture
def own_orthanc(tmp_path: Path) -> Iterator[LocalOrthanc]:
    """A private Orthanc that a test may stop, restart or break."""
    require_orthanc()
    process = LocalOrthanc(make_config(tmp_path / "own"))
    yield process
    process.stop()


def non_loopback_ipv4() -> str | None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.connect(("192.0.2.1", 9))  # no packet is sent for UDP connect
        except OSError:
            return None
        address: str = sock.getsockname()[0]
    return None if address.startswith("127.") else address


class TestStartsFromRenderedConfig:
    def test_system_reports_our_aet_ports_and_dicomweb(
        self, orthanc: OrthancHandle, http: httpx.Client
    ) -> None:
        system = http.get("/system", auth=(USERNAME, PASSWORD)).json()
        plugins = http.get("/plugins", auth=(USERNAME, PASSWORD)).json()
        qido = http.get("/dicom-web/studies", auth=(USERNAME, PASSWORD))

        assert (system["Version"], system["DicomAet"]) == ("1.10.1", orthanc.aet)
        assert (system["HttpPort"], system["DicomPort"]) == (
            orthanc.config.http_port,
            orthanc.dicom_port,
        )
        assert "dicom-web" in plugins
        assert qido.status_code == 200
        print(f"\n[measure] Orthanc start-up to /system ready: {orthanc.startup_s:.2f} s")

    def test_child_environment_carries_tcp_nodelay_and_no_secrets(
        self, orthanc: OrthancHandle
    ) -> None:
        environ = Path(f"/proc/{orthanc.process.pid}/environ").read_bytes().split(b"\0")
        assert b"TCP_NODELAY=1" in environ
        assert b"MALLOC_ARENA_MAX=5" in environ
        assert not [v for v in environ if v.startswith(b"RADBRIDGE_")]


class TestRestLockdown:
    def test_refuses_requests_without_credentials(self, http: httpx.Client) -> None:
        assert http.get("/system").status_code == 401
        assert http.get("/changes", auth=(USERNAME, "wrong")).status_code == 401

    def test_client_with_wrong_password_is_rejected(self, orthanc: OrthancHandle) -> None:
        client = OrthancClient(orthanc.http_url, USERNAME, "wrong")
        assert client.is_alive() is False
        with pytest.raises(OrthancRejected) as caught:
            client.get_changes(since=0)
        assert caught.value.orthanc_status == 401

    def test_lua_explorer_and_webdav_are_off(self, http: httpx.Client) -> None:
        auth = (USERNAME, PASSWORD)
        assert http.post("/tools/execute-script", content=b"print(1)", auth=auth).status_code == 403
        assert http.get("/app/explorer.html", auth=auth).status_code == 404
        assert http.request("PROPFIND", "/webdav/", auth=auth).status_code in (404, 405)

    def test_rest_api_cannot_write_to_the_file_system(
        self, orthanc: OrthancHandle, http: httpx.Client, tmp_path: Path
    ) -> None:
        path, _ = fresh_ct(tmp_path)
        instance_id = orthanc.client.upload_instance(path.read_bytes()).orthanc_id
        target = tmp_path / "exported.dcm"

        answer = http.post(
            f"/instances/{instance_id}/export", content=str(target), auth=(USERNAME, PASSWORD)
        )

        assert answer.status_code == 403
        assert not target.exists()

    def test_non_loopback_clients_are_refused(self, orthanc: OrthancHandle) -> None:
        address = non_loopback_ipv4()
        if address is None:
            pytest.skip("no non-loopback IPv4 address on this machine")
        url = f"http://{address}:{orthanc.config.http_port}/system"
        answer = httpx.get(url, auth=(USERNAME, PASSWORD), timeout=5, trust_env=False)
        assert answer.status_code in (401, 403)


class TestLifecycle:
    def test_stopped_orthanc_fails_fast(self, own_orthanc: LocalOrthanc) -> None:
        with own_orthanc:
            client = OrthancClient(own_orthanc.http_url, USERNAME, PASSWORD)
            assert client.is_alive()
        assert not own_orthanc.is_running()

        started = time.monotonic()
        with pytest.raises(OrthancUnavailable):
            client.get_changes(since=0)
        elapsed = time.monotonic() - started
        assert client.is_alive() is False
        assert elapsed < 2.0
        print(f"\n[measure] OrthancUnavailable after stop: {elapsed * 1000:.0f} ms")

    def test_restart_keeps_data_and_the_client_reconnects(
        self, own_orthanc: LocalOrthanc, tmp_path: Path
    ) -> None:
        own_orthanc.start()
        own_orthanc.wait_ready()
        client = OrthancClient(own_orthanc.http_url, USERNAME, PASSWORD)
        path, _ = fresh_ct(tmp_path)
        uploaded = client.upload_instance(path.read_bytes())

        restart_s = own_orthanc.restart()

        assert client.get_study(uploaded.parent_study).instance_count == 1
        assert restart_s < 10
        print(f"\n[measure] Orthanc restart (stop+start) until ready: {restart_s:.2f} s")

    def test_start_failure_reports_the_log_tail(self, own_orthanc: LocalOrthanc) -> None:
        with socket.socket() as blocker:
            blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            blocker.bind(("", own_orthanc.config.dicom_port))
            blocker.listen()
            own_orthanc.start()
            with pytest.raises(OrthancStartError, match="already in use"):
                own_orthanc.wait_ready(timeout=15)

    def test_hung_server_times_out_instead_of_hanging(self) -> None:
        with socket.socket() as silent:  # accepts connections, never answers
            silent.bind(("127.0.0.1", 0))
            silent.listen()
            url = f"http://127.0.0.1:{silent.getsockname()[1]}"
            client = OrthancClient(url, USERNAME, PASSWORD, timeout_s=0.5)

            started = time.monotonic()
            with pytest.raises(OrthancUnavailable):
                client.get_changes(since=0)

        assert time.monotonic() - started < 1.5  # one timeout, no read retries


class TestDroppedKeepAlive:
    def test_an_idempotent_call_is_sent_again_on_a_new_connection(self) -> None:
        page = json.dumps({"Changes": [], "Done": True, "Last": 7}).encode()
        with answering_once_per_connection(page, "application/json") as url:
            client = OrthancClient(url, USERNAME, PASSWORD)

            pages = [client.get_changes(since=0) for _ in range(3)]

        assert [page.last for page in pages] == [7, 7, 7]


def test_the_harness_starts_orthanc_elsewhere_when_its_port_was_taken_meanwhile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A port found free can be taken before Orthanc binds it; that once failed a CI run."""
    require_orthanc()
    with socket.socket() as taken:
        taken.bind(("", 0))
        taken.listen()
        blocked = taken.getsockname()[1]
        found_free = orthanc_fixtures.free_port
        first = iter([blocked])
        monkeypatch.setattr(orthanc_fixtures, "free_port", lambda: next(first, 0) or found_free())

        handle = orthanc_fixtures.start_orthanc(tmp_path / "moved")
        try:
            assert handle.config.http_port != blocked
            assert handle.client.is_alive()
        finally:
            handle.client.close()
            handle.process.stop()
