"""The uploader's resume state is written by several sending threads at once."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from gateway.upload.resume_state import ResumeState


def test_concurrent_changes_are_all_kept_in_a_readable_file(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    state = ResumeState(path, "http://gateway")

    def one_file(number: int) -> None:
        key = f"sha256:{number:04d}"
        state.set_item(key, f"http://gateway/uploads/{number}")
        if number % 2 == 0:
            state.mark_stored(key, f"http://gateway/uploads/{number}")

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(one_file, range(200)))

    again = ResumeState(path, "http://gateway")  # what a re-run reads back
    mine = json.loads(path.read_text())["servers"]["http://gateway"]
    assert len(mine["stored"]) == 100 and len(mine["urls"]) == 100
    assert all(again.is_stored(f"sha256:{n:04d}") for n in range(0, 200, 2))
    assert again.get_item("sha256:0001") == "http://gateway/uploads/1"
