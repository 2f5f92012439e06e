"""GET /api/v1/worklist/events: a real SSE client on a real uvicorn server."""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from services.api.app import create_app
from tests.factories.tenant import Account, Consortium
from tests.fixtures.databases import Database
from tests.fixtures.live_server import live_server
from tests.services.worklist.conftest import add_study

pytestmark = pytest.mark.integration


@pytest.fixture
def base_url(use_database: Database) -> Iterator[str]:
    with live_server(create_app()) as url:
        yield url


def _token(base_url: str, account: Account) -> str:
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
        return self.events.get(timeout=timeout)


def test_reader_sees_another_readers_claim_and_other_tenant_sees_nothing(
    base_url: str, consortium: Consortium, other: Consortium, use_database: Database
) -> None:
    item = add_study(use_database, consortium.clinic_a, patient_name="张三")
    watcher = Listener(base_url, _token(base_url, consortium.radiologist))
    outsider = Listener(base_url, _token(base_url, other.radiologist))
    assert watcher.next()[0] == "ready"
    assert outsider.next()[0] == "ready"

    claimer = _token(base_url, consortium.senior_radiologist)
    response = httpx.post(
        f"{base_url}/api/v1/worklist/{item.id}/claim",
        headers={"Authorization": f"Bearer {claimer}"},
    )
    assert response.status_code == 200, response.text

    kind, data = watcher.next()
    assert kind == "claimed"
    assert data == {
        "item_id": str(item.id),
        "kind": "claimed",
        "status": "CLAIMED",
        "priority": item.priority,
    }
    outsider.thread.join(timeout=10)
    assert outsider.events.empty(), "an event of another tenant was delivered"


def test_events_need_a_reader_token(base_url: str, consortium: Consortium) -> None:
    token = _token(base_url, consortium.clinic_staff)
    response = httpx.get(
        f"{base_url}/api/v1/worklist/events", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 403
