"""Steps shared by the critical-value tests."""

from __future__ import annotations

from typing import Any

from services.contracts.task_names import SEND_CRITICAL_ALERT
from services.critical import tasks
from services.critical.exceptions import AlertRetry
from services.kit import db as kit_db
from services.kit.db import session_scope
from services.models import Study
from tests.factories import study as study_factory
from tests.factories.tenant import Account, Consortium
from tests.fixtures.api_client import Api
from tests.fixtures.databases import Database
from tests.services.test_api_flow import DRAFT, _claim, _study_url


def new_study(consortium: Consortium, db: Database) -> Study:
    with session_scope(db.factory) as session:
        study, _ = study_factory.register_study(session, clinic=consortium.clinic_a)
    return study


def write_draft(api: Api, reader: Account, study: Study) -> None:
    assert _claim(api, reader, study).status_code == 200
    assert api.put(reader, f"{_study_url(study)}/report/draft", DRAFT).status_code == 200


def sign(api: Api, reader: Account, study: Study) -> None:
    response = api.post(reader, f"{_study_url(study)}/report/sign")
    assert response.status_code == 200, response.text


def declare(api: Api, reader: Account, study: Study, code: str = "CV-ICH") -> dict[str, Any]:
    response = api.post(reader, f"/api/v1/studies/{study.id}/critical-results", {"code": code})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def queued_alerts() -> list[str]:
    """Return (and consume) the alert ids the outbox published."""
    sent = kit_db.PUBLISHER.sent
    ids = [m.kwargs["alert_id"] for m in sent if m.task_name == SEND_CRITICAL_ALERT]
    sent[:] = [m for m in sent if m.task_name != SEND_CRITICAL_ALERT]
    return ids


def run_alert(alert_id: str, limit: int = 6) -> tuple[str, int]:
    """Run the alert task like Celery would, retrying on AlertRetry."""
    retries = 0
    for _ in range(limit):
        try:
            return str(tasks.send_alert(alert_id=alert_id)), retries
        except AlertRetry:
            retries += 1
    raise AssertionError(f"alert {alert_id} did not settle after {limit} runs")
