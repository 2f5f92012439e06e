"""Fixtures of the registry tests: a clean registry per test, a consortium, registered versions."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import delete
from sqlalchemy.orm import Session

from services.model_registry import service as registry
from services.model_registry.manifest import parse_manifest
from services.models import ModelSubscription, ModelVersion
from tests.fixtures.consortium import Consortium, build_consortium
from tests.fixtures.databases import Database


def _wipe(db: Database) -> None:
    with db.factory.begin() as session:
        session.execute(delete(ModelSubscription))
        session.execute(delete(ModelVersion))


@pytest.fixture
def clean_registry(use_database: Database) -> Iterator[Database]:
    """An empty registry during the test, and again after it.

    The test database lives for the whole session: a version left registered would switch
    every later test from the configured routes to the (empty) registry.
    """
    _wipe(use_database)
    yield use_database
    _wipe(use_database)


@pytest.fixture
def consortium(clean_registry: Database) -> Consortium:
    with clean_registry.factory.begin() as session:
        return build_consortium(session)


def register_checked(session: Session, data: dict[str, Any], state: str = "enabled") -> None:
    """Register a manifest as if its check inference had passed (routing tests only)."""
    manifest = parse_manifest(data)
    registry.register(session, manifest=manifest, repository_uri="/test")
    registry.record_check(
        session, name=manifest.name, version=manifest.version, elapsed_ms=1, error=None
    )
    registry.set_state(session, name=manifest.name, version=manifest.version, state=state)
