"""A real SSE client of ``GET /api/v1/worklist/events``, for the live-update tests."""

from __future__ import annotations

import json
import queue
import threading
from typing import Any

import httpx

from tests.factories.tenant import Account


def password_token(base_url: str, account: Account) -> str:
    """Sign ``account`` in on the live server; return its access token."""
    response = httpx.post(
        f"{base_url}/oauth/token",
        data={"grant_type": "password", "username": account.username, "password": account.password},
    )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


class Listener:
    """Reads one SSE stream in a thread; the stream ends after ``idle_s`` without data."""

    def __init__(self, base_url: str, token: str, idle_s: float = 3.0) -> None:
        self.events: queue.Queue[tuple[str, dict[str, Any]]] = queue.Queue()
        self._args = (base_url, token, idle_s)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        base_url, token, idle_s = self._args
        timeout = httpx.Timeout(10.0, read=idle_s)
        headers = {"Authorization": f"Bearer {token}"}
        kind = ""
        try:
            with httpx.stream(
                "GET", f"{base_url}/api/v1/worklist/events", headers=headers, timeout=timeout
            ) as response:
                assert response.status_code == 200
                for line in response.iter_lines():
                    if line.startswith("event:"):
                        kind = line.split(":", 1)[1].strip()
                    elif line.startswith("data:"):
                        self.events.put((kind, json.loads(line.split(":", 1)[1])))
        except httpx.ReadTimeout:
            pass

    def next(self, timeout: float = 5.0) -> tuple[str, dict[str, Any]]:
        """Return the next event (kind, data); raise queue.Empty after ``timeout``."""
        return self.events.get(timeout=timeout)
