"""Shared set-up of the worklist API tests: a client signing in accounts, studies on demand."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest
from httpx import Response

from services.api.app import create_app
from services.kit.db import session_scope
from services.models import Organization, WorklistItem
from services.worklist import repository
from tests.factories import study as study_factory
from tests.fixtures.databases import Database
from tests.fixtures.live_server import live_server


@pytest.fixture
def base_url(use_database: Database) -> Iterator[str]:
    """The API on a real uvicorn server (live streams need one)."""
    with live_server(create_app()) as url:
        yield url


def add_study(
    db: Database,
    clinic: Organization,
    *,
    priority: int | None = None,
    modality: str | None = None,
    **facts: Any,
) -> WorklistItem:
    """Register a study like the gateway does and return its worklist item (priority forced)."""
    study_facts = dataclasses.replace(study_factory.study_facts(modality=modality), **facts)
    with session_scope(db.factory) as session:
        study, _ = study_factory.register_study(session, clinic=clinic, facts=study_facts)
        item = repository.by_study(session, study.id)
        assert item is not None
        if priority is not None:
            item.priority = priority
    return item


def assert_error(response: Response, status: int, code: str, *words: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] == code, body
    for word in words:
        assert word in body["message"], body
