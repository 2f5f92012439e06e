"""Reconnecting to GET /api/v1/worklist/events with Last-Event-ID replays what was missed."""

from __future__ import annotations

import json
import queue
import threading
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from services.models import WorklistEvent, WorklistItem
from services.worklist import live
from tests.factories.tenant import Account, Consortium
from tests.fixtures.databases import Database
from tests.services.worklist.conftest import add_study, assert_error

pytestmark = pytest.mark.integration
EVENTS = "/api/v1/worklist/events"


def _headers(base_url: str, account: Account, **extra: str) -> dict[str, str]:
    response = httpx.post(
        f"{base_url}/oauth/token",
        data={"grant_type": "password", "username": account.username, "password": account.password},
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}", **extra}


class Stream:
    """One SSE connection read in a thread: (event, id, data) triples."""

    def __init__(self, url: str, headers: dict[str, str], idle_s: float = 3.0) -> None:
        self.events: queue.Queue[tuple[str, str, dict[str, Any]]] = queue.Queue()
        self._args = (url, headers, idle_s)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        url, headers, idle_s = self._args
        kind = event_id = ""
        try:
            with httpx.stream(
                "GET", url, headers=headers, timeout=httpx.Timeout(10.0, read=idle_s)
            ) as response:
                assert response.status_code == 200
                for line in response.iter_lines():
                    if line.startswith("event:"):
                        kind = line.split(":", 1)[1].strip()
                    elif line.startswith("id:"):
                        event_id = line.split(":", 1)[1].strip()
                    elif line.startswith("data:"):
                        self.events.put((kind, event_id, json.loads(line.split(":", 1)[1])))
                        event_id = ""
        except httpx.ReadTimeout:
            pass

    def next(self, timeout: float = 5.0) -> tuple[str, str, dict[str, Any]]:
        return self.events.get(timeout=timeout)

    def rest(self) -> list[tuple[str, str, dict[str, Any]]]:
        """Wait for the stream to go idle and return what else arrived."""
        self.thread.join(timeout=15)
        out = []
        while not self.events.empty():
            out.append(self.events.get())
        return out


def _event_ids(db: Database, item: WorklistItem) -> list[int]:
    with db.factory() as session:
        stmt = select(WorklistEvent.id).where(WorklistEvent.item_id == item.id)
        return sorted(session.scalars(stmt))


def test_reconnect_gets_the_missed_events_then_live_ones_once(
    base_url: str, consortium: Consortium, use_database: Database
) -> None:
    item = add_study(use_database, consortium.clinic_a)
    (created,) = _event_ids(use_database, item)
    senior = _headers(base_url, consortium.senior_radiologist)
    for action in ("claim", "release"):  # while the reader was away
        response = httpx.post(f"{base_url}/api/v1/worklist/{item.id}/{action}", headers=senior)
        assert response.status_code == 200, response.text

    reader = _headers(base_url, consortium.radiologist, **{"Last-Event-ID": str(created)})
    stream = Stream(f"{base_url}{EVENTS}", reader)
    assert stream.next()[0] == "ready"
    missed = [stream.next(), stream.next()]
    claimed, released = _event_ids(use_database, item)[1:]
    assert [(k, int(i), d["item_id"]) for k, i, d in missed] == [
        ("claimed", claimed, str(item.id)),
        ("released", released, str(item.id)),
    ]
    response = httpx.post(f"{base_url}/api/v1/worklist/{item.id}/claim", headers=senior)
    assert response.status_code == 200
    kind, event_id, data = stream.next()
    assert (kind, data["status"]) == ("claimed", "CLAIMED")
    assert int(event_id) > released
    assert stream.rest() == []  # nothing twice


def test_replay_never_crosses_tenants(
    base_url: str, consortium: Consortium, other: Consortium, use_database: Database
) -> None:
    item = add_study(use_database, consortium.clinic_a)
    (created,) = _event_ids(use_database, item)
    senior = _headers(base_url, consortium.senior_radiologist)
    assert httpx.post(f"{base_url}/api/v1/worklist/{item.id}/claim", headers=senior).is_success

    outsider = _headers(base_url, other.radiologist, **{"Last-Event-ID": str(created - 1)})
    stream = Stream(f"{base_url}{EVENTS}", outsider)
    assert stream.next()[0] == "ready"
    seen = stream.rest()
    assert all(d.get("item_id") != str(item.id) for _, _, d in seen), seen


def test_more_missed_events_than_kept_asks_the_client_to_reload(
    base_url: str, consortium: Consortium, use_database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(live, "REPLAY_LIMIT", 1)
    item = add_study(use_database, consortium.clinic_a)
    (created,) = _event_ids(use_database, item)
    senior = _headers(base_url, consortium.senior_radiologist)
    for action in ("claim", "release"):
        assert httpx.post(f"{base_url}/api/v1/worklist/{item.id}/{action}", headers=senior)

    reader = _headers(base_url, consortium.radiologist, **{"Last-Event-ID": str(created)})
    stream = Stream(f"{base_url}{EVENTS}", reader)
    assert stream.next()[0] == "ready"
    kind, _, data = stream.next()
    assert (kind, data) == ("reset", {"reason": "events_expired"})


@pytest.mark.parametrize("value", ["abc", "-1", "12.5", "9" * 40])
def test_a_last_event_id_that_no_stream_sent_is_400(
    base_url: str, consortium: Consortium, value: str
) -> None:
    headers = _headers(base_url, consortium.radiologist, **{"Last-Event-ID": value})
    response = httpx.get(f"{base_url}{EVENTS}", headers=headers, timeout=10)
    if len(value) > 32:
        assert_error(response, 422, "invalid_request", "last-event-id")
    else:
        assert_error(response, 400, "invalid_last_event_id", "Last-Event-ID")
