"""A spool written by the SCP process and forwarded by another: the folder is all they share.

The forwarding side runs in a thread here (``forward_folder`` is what the forwarder process
runs); ``deliver`` is the boundary under test, recording what reached it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

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


def test_files_left_before_the_forwarder_started_are_delivered(
    tmp_path: Path, delivered: Delivered, forwarding: Callable[[], None]
) -> None:
    writer = Spool(tmp_path, None)
    writer.start()
    for number in range(3):
        writer.put(b"LEFT%d" % number, SENT)
    (tmp_path / "torn.part").write_bytes(b"half a file")  # a crash mid-write: never forwarded
    assert Spool(tmp_path, None).start() == 3  # what the next SCP start finds waiting

    forwarding()

    assert writer.drain(10.0)
    assert sorted(delivered.items) == [b"LEFT0", b"LEFT1", b"LEFT2"]
    assert [p.name for p in tmp_path.iterdir()] == ["torn.part"]


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


def test_a_spooled_file_without_a_readable_sender_is_left_for_an_admin(
    tmp_path: Path, delivered: Delivered, forwarding: Callable[[], None]
) -> None:
    (tmp_path / "broken.dcm").write_bytes(b"\xff\xff")
    writer = Spool(tmp_path, None)
    writer.start()
    forwarding()
    writer.put(b"GOOD", SENT)

    assert eventually(lambda: delivered.items == [b"GOOD"])
    assert (tmp_path / "broken.dcm").exists()


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
