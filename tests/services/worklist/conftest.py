"""Shared set-up of the worklist API tests: a client signing in accounts, studies on demand."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from services.api.app import create_app
from services.kit.db import session_scope
from services.models import Organization, WorklistItem
from services.worklist import repository
from tests.factories import study as study_factory
from tests.factories import tenant as tenant_factory
from tests.factories.tenant import Account, Consortium
from tests.fixtures.databases import Database


@dataclass
class Api:
    """The test client, signing in each account once through the real token endpoint."""

    client: TestClient
    tokens: dict[str, str] = field(default_factory=dict)

    def headers(self, account: Account) -> dict[str, str]:
        if account.username not in self.tokens:
            response = self.client.post(
                "/oauth/token",
                data={
                    "grant_type": "password",
                    "username": account.username,
                    "password": account.password,
                },
            )
            assert response.status_code == 200, response.text
            self.tokens[account.username] = response.json()["access_token"]
        return {"Authorization": f"Bearer {self.tokens[account.username]}"}

    def get(self, account: Account, url: str, **params: Any) -> Response:
        response: Response = self.client.get(url, params=params, headers=self.headers(account))
        return response

    def post(self, account: Account, url: str) -> Response:
        response: Response = self.client.post(url, headers=self.headers(account))
        return response


@pytest.fixture
def api(use_database: Database) -> Iterator[Api]:
    with TestClient(create_app()) as client:
        yield Api(client)


@pytest.fixture
def consortium(use_database: Database) -> Consortium:
    return tenant_factory.build_consortium(use_database.factory)


@pytest.fixture
def other(use_database: Database) -> Consortium:
    return tenant_factory.build_consortium(use_database.factory)


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
