"""The migrations build exactly the schema the models declare, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

import services.models  # noqa: F401 - registers every table
from services.kit.db import Base, make_engine
from services.kit.migrate import alembic_config
from tests.fixtures.databases import Database

pytestmark = pytest.mark.integration


def test_one_head() -> None:
    heads = ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads()
    assert len(heads) == 1, f"merge the migration heads: {heads}"


def test_no_drift_between_models_and_migrations(database: Database) -> None:
    engine = make_engine(database.url)
    try:
        with engine.connect() as connection:
            diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    finally:
        engine.dispose()
    assert diff == [], "write a migration for: " + "; ".join(str(d)[:120] for d in diff)
