"""Watch a folder for new files and hand them over once they stop changing.

A modality or PACS export writes a study file by file; a file is ready when its size and
modification time have not changed for ``stable_s`` seconds, and the files that became ready
together (nothing else still being written) go out as one batch, i.e. usually one study.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer


class _Seen(FileSystemEventHandler):
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.paths: set[Path] = set()

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.is_directory:
            return
        target = getattr(event, "dest_path", "") or event.src_path
        with self.lock:
            self.paths.add(Path(str(target)))


def _signature(path: Path) -> tuple[int, int] | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_size, stat.st_mtime_ns


def watch(
    folder: Path,
    on_ready: Callable[[list[Path]], None],
    stop: threading.Event,
    stable_s: float = 5.0,
) -> None:
    """Call ``on_ready`` with each group of files that settled, until ``stop`` is set."""
    seen = _Seen()
    observer = Observer()
    observer.schedule(seen, str(folder), recursive=True)
    observer.start()
    changing: dict[Path, tuple[tuple[int, int], float]] = {}
    try:
        while not stop.wait(min(1.0, stable_s / 2)):
            with seen.lock:
                fresh, seen.paths = seen.paths, set()
            now = time.monotonic()
            for path in fresh:
                changing[path] = ((-1, -1), now)
            ready = []
            for path, (signature, since) in list(changing.items()):
                current = _signature(path)
                if current is None:
                    del changing[path]  # deleted or moved away
                elif current != signature:
                    changing[path] = (current, now)
                elif now - since >= stable_s:
                    ready.append(path)
            if ready and len(ready) == len(changing):  # the whole group settled
                for path in ready:
                    del changing[path]
                on_ready(sorted(ready))
    finally:
        observer.stop()
        observer.join(timeout=5)
