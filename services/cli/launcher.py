"""A small supervisor for the local stack: start processes, watch them, stop them all on Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Supervisor:
    """Starts child processes in their own process groups and stops every one of them."""

    log_dir: Path
    children: list[tuple[str, subprocess.Popen[bytes]]] = field(default_factory=list)

    def start(self, name: str, argv: Sequence[str], env: dict[str, str] | None = None) -> None:
        """Start ``argv`` with output to ``<log_dir>/<name>.log``."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = (self.log_dir / f"{name}.log").open("ab")
        process = subprocess.Popen(
            list(argv),
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
            start_new_session=True,
        )
        self.children.append((name, process))

    def dead(self) -> list[str]:
        """Return the names of children that have exited."""
        return [name for name, p in self.children if p.poll() is not None]

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop children in reverse start order: SIGTERM, then SIGKILL after ``timeout_s``."""
        for _name, process in reversed(self.children):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        for _name, process in reversed(self.children):
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def stop_on_terminate() -> None:
    """Make SIGTERM and SIGHUP stop the stack the way Ctrl-C does.

    Python dies at once on SIGTERM, without running ``finally``: ``timeout``, ``kill`` or a
    service manager stopping ``radbridge up`` left Orthanc, Triton and the workers running
    (their own process groups) until this raised KeyboardInterrupt instead.
    """

    def interrupt(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    for number in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(number, interrupt)


def radbridge_argv(*args: str) -> list[str]:
    """Return the argv that runs a ``radbridge`` subcommand with this interpreter."""
    return [sys.executable, "-m", "services.cli", *args]
