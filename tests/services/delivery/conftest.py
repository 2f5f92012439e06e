"""Delivery fixtures: a consortium, the API, delivery settings allowing loopback peers."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from services.api.app import create_app
from services.contracts.task_names import DELIVER_REPORT
from services.delivery import tasks
from services.delivery.exceptions import DeliveryRetry
from services.delivery.settings import get_delivery_settings
from services.kit import db as kit_db
from services.kit.db import session_scope
from services.kit.settings import get_settings
from services.models import Report, Study
from services.report.rendering import render_and_store
from tests.factories import study as study_factory
from tests.factories.tenant import Account, Consortium
from tests.fixtures.api_client import Api
from tests.fixtures.databases import Database
from tests.services.test_api_flow import _sign

MAX_ATTEMPTS = 3


@pytest.fixture
def delivery_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Loopback peers allowed (tests only), three attempts, short timeouts."""
    monkeypatch.setenv("RADBRIDGE_DELIVERY__ALLOW_PRIVATE_NETWORK", "true")
    monkeypatch.setenv("RADBRIDGE_DELIVERY__MAX_ATTEMPTS", str(MAX_ATTEMPTS))
    monkeypatch.setenv("RADBRIDGE_DELIVERY__TIMEOUT_S", "5")
    get_delivery_settings.cache_clear()
    yield
    get_delivery_settings.cache_clear()


@pytest.fixture
def api(use_database: Database, delivery_env: None) -> Iterator[Api]:
    with TestClient(create_app()) as client:
        yield Api(client)


def post_json(api: Api, account: Account, url: str, body: dict[str, Any]) -> Response:
    response: Response = api.client.post(url, json=body, headers=api.headers(account))
    return response


def delete(api: Api, account: Account, url: str) -> Response:
    response: Response = api.client.delete(url, headers=api.headers(account))
    return response


def add_channel(api: Api, consortium: Consortium, body: dict[str, Any]) -> dict[str, Any]:
    url = f"/api/v1/organizations/{consortium.clinic_a.id}/delivery-channels"
    response = post_json(api, consortium.consortium_admin, url, body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def sign_and_render(api: Api, consortium: Consortium, db: Database) -> tuple[Study, Report]:
    """Register a clinic A study, sign its report over the API and render it (queues deliveries)."""
    with session_scope(db.factory) as session:
        study, _ = study_factory.register_study(session, clinic=consortium.clinic_a)
    response = _sign(api, consortium.radiologist, study)
    assert response.status_code == 200, response.text
    report_id = uuid.UUID(response.json()["id"])
    with session_scope(db.factory) as session:
        assert render_and_store(session, get_settings(), report_id=report_id)
    with db.factory() as session:
        report = session.get(Report, report_id)
        assert report is not None
        return study, report


def queued_deliveries() -> list[str]:
    """Return (and consume) the delivery ids the outbox published."""
    ids = [m.kwargs["delivery_id"] for m in kit_db.PUBLISHER.sent if m.task_name == DELIVER_REPORT]
    kit_db.PUBLISHER.sent[:] = [m for m in kit_db.PUBLISHER.sent if m.task_name != DELIVER_REPORT]
    return ids


def run_until_settled(delivery_id: str, limit: int = 10) -> tuple[str, int]:
    """Call the task like Celery would, retrying on DeliveryRetry; return status and retries."""
    retries = 0
    for _ in range(limit):
        try:
            return str(tasks.deliver(delivery_id=delivery_id)), retries
        except DeliveryRetry:
            retries += 1
    raise AssertionError(f"delivery {delivery_id} did not settle after {limit} runs")


def deliveries(api: Api, account: Account, study: Study) -> list[dict[str, Any]]:
    response = api.get(account, f"/api/v1/studies/{study.id}/report/deliveries")
    assert response.status_code == 200, response.text
    body: list[dict[str, Any]] = response.json()
    return body
