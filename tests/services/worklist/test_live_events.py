"""GET /api/v1/worklist/events: a real SSE client on a real uvicorn server."""

from __future__ import annotations

import httpx
import pytest

from tests.factories.tenant import Consortium
from tests.fixtures.databases import Database
from tests.services.worklist.conftest import add_study
from tests.services.worklist.live_stream import Listener, password_token

pytestmark = pytest.mark.integration


def test_reader_sees_another_readers_claim_and_other_tenant_sees_nothing(
    base_url: str, consortium: Consortium, other: Consortium, use_database: Database
) -> None:
    item = add_study(use_database, consortium.clinic_a, patient_name="张三")
    watcher = Listener(base_url, password_token(base_url, consortium.radiologist))
    outsider = Listener(base_url, password_token(base_url, other.radiologist))
    assert watcher.next()[0] == "ready"
    assert outsider.next()[0] == "ready"

    claimer = password_token(base_url, consortium.senior_radiologist)
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
    token = password_token(base_url, consortium.clinic_staff)
    response = httpx.get(
        f"{base_url}/api/v1/worklist/events", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 403
