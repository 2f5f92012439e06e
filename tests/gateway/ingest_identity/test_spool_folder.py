"""A spool written by the SCP process and forwarded by another: the folder is all they share.

The forwarding side runs in a thread here (``forward_folder`` is what the forwarder process
runs); ``deliver`` is the boundary under test, recording what reached it. A writer that dies
or runs out of room is a real child process, killed or limited by the kernel.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from gateway.scp.segments import SegmentWriter
from gateway.scp.spool import Retry, Sent, Spool
from tests.fixtures.polling import eventually

SENT = Sent(ae_title="CT01", tenant_id="t", organization_id="o", node_id="n")


class Delivered:
    """Records deliveries; ``gate`` holds them back while cleared."""

    def __init__(self) -> None:
        self.items: list[bytes] = []
        self.gate = threading.Event()
        self.gate.set()
        self.refuse_first: set[bytes] = set()
        self._lock = threading.Lock()

    def __call__(self, data: bytes, sent: Sent) -> None:
        assert sent == SENT
        self.gate.wait(30)
        with self._lock:
            if data in self.refuse_first:
                self.refuse_first.discard(data)
                raise Retry("image store unavailable")
            self.items.append(data)


@pytest.fixture
def delivered() -> Delivered:
    return Delivered()


@pytest.fixture
def forwarding(tmp_path: Path, delivered: Delivered) -> Iterator[Callable[[], None]]:
    """Start forwarding ``tmp_path`` in a thread when called; stop it at the end."""
    stop = threading.Event()
    threads: list[threading.Thread] = []

    def start() -> None:
        spool = Spool(tmp_path, delivered, retry_base_s=0.05)
        thread = threading.Thread(target=spool.forward_folder, args=(stop,), daemon=True)
        thread.start()
        threads.append(thread)

    yield start
    stop.set()
    for thread in threads:
        thread.join(10)
        assert not thread.is_alive()


def test_what_one_process_spools_the_other_delivers_once_and_removes(
    tmp_path: Path, delivered: Delivered, forwarding: Callable[[], None]
) -> None:
    writer = Spool(tmp_path, None)
    assert writer.start() == 0
    forwarding()

    for number in range(20):
        writer.put(b"DICM%d" % number, SENT)

    assert writer.drain(10.0)
    assert sorted(delivered.items) == sorted(b"DICM%d" % n for n in range(20))
    assert writer.pending == 0
    assert list(tmp_path.iterdir()) == []


def _in_a_writer_process(folder: Path, script: str) -> subprocess.CompletedProcess[str]:
    """Run ``script`` with ``spool``, a writer-only Spool on ``folder``, in a child process."""
    prelude = (
        "import os, resource, signal\n"
        "from pathlib import Path\n"
        "from gateway.scp.spool import Sent, Spool\n"
        "SENT = Sent(ae_title='CT01', tenant_id='t', organization_id='o', node_id='n')\n"
        f"spool = Spool(Path({str(folder)!r}), None)\n"
        "spool.start()\n"
    )
    return subprocess.run(
        [sys.executable, "-c", prelude + script], capture_output=True, text=True, timeout=60
    )


def test_what_a_writer_that_died_spooled_is_delivered_and_its_torn_record_dropped(
    tmp_path: Path, delivered: Delivered, forwarding: Callable[[], None]
) -> None:
    died = _in_a_writer_process(
        tmp_path,
        "for n in range(3):\n"
        "    spool.put(b'LEFT%d' % n, SENT)\n"
        "(segment,) = Path(spool.folder).glob('*.open')\n"
        "with open(segment, 'ab') as handle:\n"
        "    handle.write(b'RBSP' + bytes(6))  # a record cut short: never acknowledged\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n",
    )
    assert died.returncode == -9, died.stderr
    assert len(list(tmp_path.glob("*.open"))) == 1  # it died without sealing its segment
    assert Spool(tmp_path, None).start() == 3  # what the next SCP start finds waiting

    forwarding()

    assert eventually(lambda: sorted(delivered.items) == [b"LEFT0", b"LEFT1", b"LEFT2"])
    assert eventually(lambda: list(tmp_path.iterdir()) == [])


def test_a_forwarder_started_again_does_not_deliver_what_it_delivered_before(
    tmp_path: Path, delivered: Delivered
) -> None:
    writer = Spool(tmp_path, None)
    writer.start()
    for number in range(5):
        writer.put(b"ONCE%d" % number, SENT)
    for _ in range(2):  # the forwarder process replaced while the writer's segment is open
        stop = threading.Event()
        thread = threading.Thread(
            target=Spool(tmp_path, delivered).forward_folder, args=(stop,), daemon=True
        )
        thread.start()
        assert eventually(lambda: len(delivered.items) >= 5)
        time.sleep(0.1)  # time enough to find anything again
        stop.set()
        thread.join(10)

    assert sorted(delivered.items) == sorted(b"ONCE%d" % n for n in range(5))
    assert writer.pending == 0


def test_instances_are_appended_to_segments_not_written_one_file_each(
    tmp_path: Path, delivered: Delivered, forwarding: Callable[[], None]
) -> None:
    writer = Spool(tmp_path, None, segment_bytes=1000)
    writer.start()
    for number in range(20):
        writer.put(b"X%02d" % number + bytes(300), SENT)
    segments = sorted(p.suffix for p in tmp_path.iterdir())
    assert segments == [".open"] + [".seg"] * 6  # three 300-byte records a segment, then sealed

    forwarding()

    assert writer.drain(10.0)
    assert sorted(d[:3] for d in delivered.items) == [b"X%02d" % n for n in range(20)]
    assert list(tmp_path.iterdir()) == []


def test_a_write_that_fails_half_way_leaves_no_torn_record(
    tmp_path: Path, delivered: Delivered, forwarding: Callable[[], None]
) -> None:
    full = _in_a_writer_process(
        tmp_path,
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (2500, 2500))  # the disk fills up\n"
        "stored = 0\n"
        "for n in range(10):\n"
        "    try:\n"
        "        spool.put(b'F%d' % n + bytes(998), SENT)\n"
        "    except OSError as exc:\n"
        "        print(stored, exc.errno)\n"
        "        break\n"
        "    stored += 1\n"
        "spool.stop()\n",
    )
    stored, errno = full.stdout.split()
    assert (int(stored), int(errno)) == (2, 27)  # EFBIG: the third record did not fit whole
    assert Spool(tmp_path, None).pending == 2

    forwarding()

    assert eventually(lambda: sorted(d[:2] for d in delivered.items) == [b"F0", b"F1"])
    assert eventually(lambda: list(tmp_path.iterdir()) == [])


def test_the_writer_waits_for_room_while_deliveries_are_held_up(
    tmp_path: Path, delivered: Delivered, forwarding: Callable[[], None]
) -> None:
    writer = Spool(tmp_path, None, max_pending=2)
    writer.start()
    delivered.gate.clear()  # Orthanc slow: nothing completes
    forwarding()
    writer.put(b"A", SENT)
    writer.put(b"B", SENT)
    third_written = threading.Event()

    def put_third() -> None:
        writer.put(b"C", SENT)
        third_written.set()

    threading.Thread(target=put_third, daemon=True).start()

    assert not third_written.wait(0.3)  # a modality is slowed down, not piled up on disk
    assert writer.pending == 2
    delivered.gate.set()
    assert third_written.wait(10)
    assert writer.drain(10.0)
    assert sorted(delivered.items) == [b"A", b"B", b"C"]


def test_a_delivery_that_must_be_retried_is_kept_and_delivered_once(
    tmp_path: Path, delivered: Delivered, forwarding: Callable[[], None]
) -> None:
    delivered.refuse_first = {b"FLAKY"}
    writer = Spool(tmp_path, None)
    writer.start()
    forwarding()

    writer.put(b"FLAKY", SENT)
    writer.put(b"FINE", SENT)

    assert writer.drain(10.0)
    assert sorted(delivered.items) == [b"FINE", b"FLAKY"]
    time.sleep(0.2)  # a second scan must not find it again
    assert delivered.items.count(b"FLAKY") == 1


def test_an_unreadable_segment_is_left_for_an_admin(
    tmp_path: Path, delivered: Delivered, forwarding: Callable[[], None]
) -> None:
    (tmp_path / "0-broken.seg").write_bytes(b"\xff" * 40)
    writer = Spool(tmp_path, None)
    writer.start()
    forwarding()
    writer.put(b"GOOD", SENT)

    assert eventually(lambda: delivered.items == [b"GOOD"])
    assert eventually(lambda: (tmp_path / "0-broken.broken").exists())


def test_a_record_without_a_readable_sender_is_set_aside_and_the_rest_delivered(
    tmp_path: Path, delivered: Delivered, forwarding: Callable[[], None]
) -> None:
    damaged = SegmentWriter(tmp_path)
    damaged.append(b"{not json", b"ORPHAN")
    damaged.append(b'{"ae_title": "CT01", "tenant_id": "t", "organization_id": "o"', b"CUT")
    damaged.seal()
    writer = Spool(tmp_path, None)
    writer.start()
    forwarding()
    writer.put(b"GOOD", SENT)

    assert eventually(lambda: delivered.items == [b"GOOD"])
    assert writer.drain(10.0)
    set_aside = sorted(p.read_bytes() for p in tmp_path.glob("*.broken"))
    assert len(set_aside) == 2
    assert set_aside[0].endswith(b"ORPHAN")
    assert set_aside[1].endswith(b"CUT")


def test_forwarding_stops_when_told_to_give_up(tmp_path: Path, delivered: Delivered) -> None:
    spool = Spool(tmp_path, delivered)
    orphaned = threading.Event()
    thread = threading.Thread(
        target=spool.forward_folder,
        args=(threading.Event(),),
        kwargs={"give_up": orphaned.is_set},
        daemon=True,
    )
    thread.start()
    orphaned.set()  # the SCP process that started the forwarder is gone
    thread.join(5)
    assert not thread.is_alive()


def test_forwarding_stops_when_told_even_while_orthanc_is_down(tmp_path: Path) -> None:
    """Retries hold every slot while Orthanc is down; a stop must not wait for a free one."""

    def orthanc_down(_data: bytes, _sent: Sent) -> None:
        raise Retry("image store unavailable")

    writer = Spool(tmp_path, None)
    writer.start()
    for number in range(3):
        writer.put(b"WAITING%d" % number, SENT)
    forwarder = Spool(tmp_path, orthanc_down, max_pending=1, retry_base_s=0.05)
    stop = threading.Event()
    thread = threading.Thread(target=forwarder.forward_folder, args=(stop,), daemon=True)
    thread.start()
    time.sleep(0.3)  # one file retrying, the scan waiting for room for the next

    stop.set()
    thread.join(10)

    assert not thread.is_alive()
    assert writer.pending == 3  # nothing delivered, nothing lost
