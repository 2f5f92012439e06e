"""The allocator thresholds: freed 15 MB bodies are reused, not mapped and zero-filled again."""

from __future__ import annotations

import subprocess
import sys

from services.kit.memory import keep_freed_memory

# In a fresh interpreter: the thresholds are process-wide, and glibc's own moving threshold
# depends on what the process freed before.
_FAULTS_OF_TWENTY_BODIES = """
import resource, sys
if sys.argv[1] == "keep":
    from services.kit.memory import keep_freed_memory
    assert keep_freed_memory()
chunk = bytes(64 * 1024)

def receive():  # as the HTTP server hands a body over: 64 kB pieces, copied, then joined
    pieces = []
    for _ in range(230):
        buffer = bytearray()
        buffer += chunk
        pieces.append(bytes(buffer))
    return b"".join(pieces)

before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(20):  # twenty 15 MB radiographs, each rewritten once, then dropped
    body = receive()
    rewritten = b"".join([memoryview(body)[:100], b"namespaced", memoryview(body)[100:]])
    del body, rewritten
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _page_faults(mode: str) -> int:
    done = subprocess.run(
        [sys.executable, "-c", _FAULTS_OF_TWENTY_BODIES, mode],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(done.stdout)


def test_the_c_library_takes_the_thresholds() -> None:
    assert keep_freed_memory() is True


def test_a_freed_body_is_reused_instead_of_mapped_again() -> None:
    default, kept = _page_faults("default"), _page_faults("keep")

    pages_per_body = 230 * 64 * 1024 // 4096
    assert default > 20 * pages_per_body  # each body and its copy faulted in anew
    assert kept < 4 * pages_per_body  # the first body's and copy's pages, then reuse
