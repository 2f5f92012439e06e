"""``radbridge up`` stops everything it started, whether it gets Ctrl-C or SIGTERM.

The children run in their own process groups (so a Ctrl-C in the terminal reaches the
supervisor alone, which stops them in order); a SIGTERM used to kill the supervisor without
stopping them.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

SUPERVISED = """
import sys, time
from pathlib import Path
from services.cli.launcher import Supervisor, stop_on_terminate
stop_on_terminate()
supervisor = Supervisor(log_dir=Path(sys.argv[1]))
try:
    supervisor.start("sleeper", [sys.executable, "-c", "import time; time.sleep(120)"])
    print(supervisor.children[0][1].pid, flush=True)
    while True:
        time.sleep(0.1)
except KeyboardInterrupt:
    print("stopping", flush=True)
finally:
    supervisor.stop(timeout_s=5)
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie (exited, not yet reaped by its parent) counts as stopped
    state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    return state != "Z"


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_the_supervisor_stops_its_children_on(sig: signal.Signals, tmp_path: Path) -> None:
    supervisor = subprocess.Popen(
        [sys.executable, "-c", SUPERVISED, str(tmp_path)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[3],
    )
    assert supervisor.stdout is not None
    child = int(supervisor.stdout.readline())
    assert _alive(child)

    supervisor.send_signal(sig)

    assert supervisor.wait(timeout=20) == 0
    assert supervisor.stdout.read().strip() == "stopping"
    deadline = time.monotonic() + 10
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(child), f"the supervised child {child} outlived the supervisor ({sig.name})"
