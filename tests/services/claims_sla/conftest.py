"""Set-up of the claim, SLA, priors and figures tests: an API client, studies, principals."""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any

from httpx import Response
from sqlalchemy import select

from services.auth.principal import Principal
from services.kit import db as kit_db
from services.kit.db import session_scope
from services.models import Organization, Study, WorklistItem
from tests.factories import study as study_factory
from tests.factories.tenant import Account
from tests.fixtures.databases import Database


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
