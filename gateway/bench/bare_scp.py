"""A pynetdicom SCP that acknowledges every C-STORE and does nothing else: the bench's ceiling.

It is paced as the gateway's SCP is (``gateway.scp.pacing``), so storing into it measures what
pynetdicom itself costs over one association on this machine, before any check, rewrite,
spool or Orthanc. Run ``python -m gateway.bench.bare_scp PORT``; it stops on SIGTERM.
"""

from __future__ import annotations

import signal
import sys
import threading

from pynetdicom import ALL_TRANSFER_SYNTAXES, AllStoragePresentationContexts, evt
from pynetdicom.ae import ApplicationEntity
from pynetdicom.events import Event

from gateway.scp import pacing

SUCCESS = 0x0000


def _acknowledge(_event: Event) -> int:
    return SUCCESS


def serve(port: int, stop: threading.Event) -> None:
    """Listen on loopback ``port`` until ``stop`` is set."""
    ae = ApplicationEntity("BARESCP")
    ae.maximum_pdu_size = 1024 * 1024  # as the gateway's SCP
    for context in AllStoragePresentationContexts:
        assert context.abstract_syntax is not None
        ae.add_supported_context(context.abstract_syntax, ALL_TRANSFER_SYNTAXES)
    pacing.wake_acceptors_on_messages()
    handlers: list[evt.EventHandlerType] = [
        (evt.EVT_C_STORE, _acknowledge),
        (evt.EVT_CONN_OPEN, pacing.prompt_connection),
    ]
    server = ae.start_server(("127.0.0.1", port), block=False, evt_handlers=handlers)
    assert server is not None
    sys.stdout.write(f"listening on {port}\n")  # the bench stack waits for this line
    sys.stdout.flush()
    pacer = pacing.ReactorPacer(lambda: server.active_associations)
    pacer.start()
    try:
        stop.wait()
    finally:
        pacer.stop()
        server.shutdown()


if __name__ == "__main__":
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    serve(int(sys.argv[1]), done)
