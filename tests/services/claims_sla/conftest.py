"""Set-up of the claim, SLA, priors and figures tests: an API client, studies, principals."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import select

from services.api.app import create_app
from services.auth.principal import Principal
from services.kit import db as kit_db
from services.kit.db import session_scope
from services.models import Organization, Study, WorklistItem
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

    def post(self, account: Account, url: str, body: dict[str, Any] | None = None) -> Response:
        response: Response = self.client.post(url, json=body, headers=self.headers(account))
        return response

    def put(self, account: Account, url: str, body: dict[str, Any]) -> Response:
        response: Response = self.client.put(url, json=body, headers=self.headers(account))
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
    """A second consortium, to prove the tenant boundary."""
    return tenant_factory.build_consortium(use_database.factory)


def add_study(db: Database, clinic: Organization, **facts: Any) -> tuple[Study, WorklistItem]:
    """Register a study like the gateway does; return it and its worklist item."""
    modality = facts.pop("modality", None)
    study_facts = dataclasses.replace(study_factory.study_facts(modality=modality), **facts)
    with session_scope(db.factory) as session:
        study, _ = study_factory.register_study(session, clinic=clinic, facts=study_facts)
        item = session.scalars(select(WorklistItem).where(WorklistItem.study_id == study.id)).one()
    kit_db.PUBLISHER.sent.clear()
    return study, item


def principal_of(account: Account, tenant_id: uuid.UUID) -> Principal:
    """Return the principal the API would build for ``account``."""
    return Principal(
        subject=str(account.user_id),
        kind="user",
        user_id=account.user_id,
        tenant_id=tenant_id,
        organization_id=account.organization_id,
        roles=frozenset({account.role.value}),
        display_name=account.username,
    )


def assert_error(response: Response, status: int, code: str) -> None:
    """Assert the uniform error body with a stable code and a sentence."""
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] == code, body
    assert len(body["message"]) > 10
