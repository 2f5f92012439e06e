"""``radbridge gateway dicom`` stores into Orthanc from a forwarder process of its own.

Run as a real command against a real Orthanc and database: instances sent by DCMTK arrive; a
forwarder killed with SIGKILL is replaced and loses nothing; SIGTERM stops both processes; an
SCP killed with SIGKILL while Orthanc is down leaves what it acknowledged in its spool, and the
next SCP delivers it, each instance once.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
from pathlib import Path

import pytest

from gateway.orthanc import LocalOrthanc
from gateway.scp.spool import Spool
from services.cli.launcher import radbridge_argv
from tests.fixtures.databases import Database
from tests.fixtures.orthanc import (
    PASSWORD,
    STORESCU,
    USERNAME,
    free_port,
    fresh_ct,
    run_dcmtk,
)
from tests.fixtures.polling import eventually
from tests.gateway.ingest_identity.conftest import SCP_AET, Site, sop_uids_in

pytestmark = pytest.mark.integration


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _forwarders(parent: int) -> list[int]:
    """Return the live forwarder processes (multiprocessing children) of ``parent``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if int(stat[1]) == parent and stat[0] != "Z" and b"spawn_main" in cmdline:
            found.append(int(entry.name))
    return found


def _start_scp(
    orthanc: LocalOrthanc, db: Database, tmp_path: Path, port: int
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "RADBRIDGE_STATE_DIR": str(tmp_path / "state"),
        "RADBRIDGE_DATABASE__URL": db.url,
        "RADBRIDGE_ORTHANC__URL": orthanc.config.http_url,
        "RADBRIDGE_ORTHANC__USERNAME": USERNAME,
        "RADBRIDGE_ORTHANC__PASSWORD": PASSWORD,
        "RADBRIDGE_ORTHANC__DICOM_AET": SCP_AET,
        "RADBRIDGE_STORAGE__LOCAL_ROOT": str(tmp_path / "objects"),
    }
    argv = radbridge_argv("gateway", "dicom", "--host", "127.0.0.1", "--port", str(port))
    with (tmp_path / "scp.log").open("ab") as log:
        scp = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT)
    assert eventually(lambda: _listening(port), 30), (tmp_path / "scp.log").read_text()
    return scp


def test_the_scp_command_forwards_from_its_own_process_and_replaces_a_dead_one(
    site: Site, own_orthanc: LocalOrthanc, use_database: Database, tmp_path: Path
) -> None:
    port = free_port()
    scp = _start_scp(own_orthanc, use_database, tmp_path, port)
    try:
        assert eventually(lambda: len(_forwarders(scp.pid)) == 1, 30)
        (first_forwarder,) = _forwarders(scp.pid)

        path, ds = fresh_ct(tmp_path)
        sent = run_dcmtk(STORESCU, "-aet", site.node_a, "-aec", SCP_AET, "127.0.0.1", port, path)
        assert sent.returncode == 0, sent.stderr
        assert eventually(lambda: ds.SOPInstanceUID in sop_uids_in(own_orthanc), 30)

        os.kill(first_forwarder, signal.SIGKILL)
        assert eventually(lambda: _forwarders(scp.pid) not in ([], [first_forwarder]), 30), (
            "the SCP did not replace its dead forwarder"
        )
        path, again = fresh_ct(tmp_path)
        sent = run_dcmtk(STORESCU, "-aet", site.node_b, "-aec", SCP_AET, "127.0.0.1", port, path)
        assert sent.returncode == 0, sent.stderr
        assert eventually(lambda: again.SOPInstanceUID in sop_uids_in(own_orthanc), 30)
        (second_forwarder,) = _forwarders(scp.pid)

        scp.send_signal(signal.SIGTERM)
        assert scp.wait(30) == 0
        assert not Path(f"/proc/{second_forwarder}").exists(), "the forwarder outlived the SCP"
        assert list((tmp_path / "state" / "scp-spool").iterdir()) == []  # all delivered
    finally:
        if scp.poll() is None:
            scp.kill()
            scp.wait(10)


def test_what_a_killed_scp_acknowledged_is_delivered_once_by_the_next_one(
    site: Site, own_orthanc: LocalOrthanc, use_database: Database, tmp_path: Path
) -> None:
    spool = tmp_path / "state" / "scp-spool"
    port = free_port()
    scp = _start_scp(own_orthanc, use_database, tmp_path, port)
    try:
        own_orthanc.stop()  # nothing can be delivered: every acknowledged instance stays spooled
        paths = [fresh_ct(tmp_path)[0] for _ in range(3)]
        sent = run_dcmtk(STORESCU, "-aet", site.node_a, "-aec", SCP_AET, "127.0.0.1", port, *paths)
        assert sent.returncode == 0, sent.stderr
        scp.kill()
        scp.wait(10)
    finally:
        if scp.poll() is None:
            scp.kill()
            scp.wait(10)
    assert Spool(spool, None).pending == 3  # acknowledged, in the segment it never sealed

    own_orthanc.start()
    own_orthanc.wait_ready(timeout=20)
    port = free_port()
    again = _start_scp(own_orthanc, use_database, tmp_path, port)
    try:
        assert eventually(lambda: len(sop_uids_in(own_orthanc)) == 3, 30)
        again.send_signal(signal.SIGTERM)
        assert again.wait(30) == 0
    finally:
        if again.poll() is None:
            again.kill()
            again.wait(10)
    assert sorted(sop_uids_in(own_orthanc)) == sorted(p.stem for p in paths)  # each once
    assert list(spool.iterdir()) == []
