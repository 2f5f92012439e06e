"""Under CI the PostgreSQL variant of the database tests fails loudly when the server is gone.

Locally a missing PostgreSQL only narrows the run to SQLite. In CI PostgreSQL always runs, so
the claim race (and every other test on ``use_database``) must not quietly pass on SQLite
alone: the run is repeated in a child pytest pointed at a port where nothing listens.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fixtures.databases import database_kinds
from tests.fixtures.live_server import free_port

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
RACE = "tests/services/test_claim_race.py"


@pytest.mark.parametrize(
    ("ci", "up", "kinds"),
    [
        (True, True, ["sqlite", "postgresql"]),
        (True, False, ["sqlite", "postgresql"]),
        (False, True, ["sqlite", "postgresql"]),
        (False, False, ["sqlite"]),
    ],
)
def test_database_kinds(ci: bool, up: bool, kinds: list[str]) -> None:
    assert database_kinds(ci=ci, postgres_up=up) == kinds


def _child_pytest(ci: str) -> subprocess.CompletedProcess[str]:
    """Run the claim race in a child pytest whose PostgreSQL port has no server behind it."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PYTEST_", "RADBRIDGE_")) and k != "CI"
    }
    env.update(CI=ci, RADBRIDGE_TEST_PG_PORT=str(free_port()))
    argv = [sys.executable, "-m", "pytest", "-n", "0", "-p", "no:cacheprovider", "-q", RACE]
    return subprocess.run(
        argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=240, check=False
    )


def test_ci_run_without_postgresql_fails_instead_of_falling_back() -> None:
    result = _child_pytest("true")
    output = result.stdout + result.stderr

    assert result.returncode != 0, output
    assert "1 passed" in output, output  # the SQLite variant still ran
    assert "1 error" in output, output
    assert "test_exactly_one_of_eight_radiologists_wins[postgresql]" in output, output
    assert "PostgreSQL does not answer on 127.0.0.1:" in output, output


def test_local_run_without_postgresql_runs_sqlite_only() -> None:
    result = _child_pytest("")
    output = result.stdout + result.stderr

    assert result.returncode == 0, output
    assert "1 passed" in output, output
    assert "postgresql" not in output, output
