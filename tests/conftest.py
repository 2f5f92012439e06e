"""Shared test set-up: an isolated state folder, and real databases (SQLite always, PostgreSQL
on 127.0.0.1:5432 where it runs) migrated with Alembic, one fresh database per test session.

The environment is set before any ``services`` module is imported, because the Celery app and
settings are built from it at import time.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

_STATE = Path(tempfile.mkdtemp(prefix="radbridge-test-"))
os.environ["RADBRIDGE_STATE_DIR"] = str(_STATE)
os.environ.pop("RADBRIDGE_DATABASE__URL", None)
os.environ.pop("RADBRIDGE_BROKER__URL", None)

pytest_plugins = [
    "tests.fixtures.databases",
    "tests.fixtures.api_client",
    "tests.fixtures.s3",
    "tests.fixtures.orthanc",
    "tests.fixtures.triton",
]
