"""The worklist benchmark at tiny scale: it runs, produces every figure and uses the index.

Never asserts timings (a shared 2-core machine): only that the tool works and that the plans of
the hot queries are index scans on the queue index, not sequential scans.
"""

from __future__ import annotations

import pytest

from services.cli import bench_worklist
from services.kit.settings import get_settings
from tests.fixtures.databases import PG_HOST, PG_PORT, postgres_available

pytestmark = pytest.mark.integration

EXPECTED = {
    "api_first_page_p50_ms",
    "api_first_page_p99_ms",
    "sql_first_page_p99_ms",
    "api_over_sql_p99",
    "claim_p99_ms",
    "idle_p99_ms",
    "ingest_p99_ms",
    "ingest_over_idle_p99",
    "ingest_writes_per_s",
    "sql_churn_over_idle_p99",
    "small_scale_api_p99_ms",
    "scale_1m_over_10k_p99",
}


def test_bench_at_tiny_scale_gives_figures_and_index_scans(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert postgres_available(), (
        f"PostgreSQL must answer on {PG_HOST}:{PG_PORT} (user postgres, trust): "
        "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"
    )
    get_settings.cache_clear()
    url = bench_worklist.create_database(
        f"postgresql+psycopg://postgres@{PG_HOST}:{PG_PORT}/postgres"
    )
    lines: list[str] = []
    try:
        result = bench_worklist.run_bench(
            url, studies=2000, tenants=4, open_items=500, requests=20, rounds=1,
            small_scale=200, ingest_rate=50.0, echo=lines.append,
        )  # fmt: skip
        bench_worklist.report(result, echo=lines.append)
    finally:
        get_settings.cache_clear()
        bench_worklist.drop_database(url)

    assert set(result.figures) >= EXPECTED
    assert all(value > 0 for value in result.figures.values())
    assert result.plans
    claim_plan = result.plans.pop("claim")
    assert "Update on worklist_item" in claim_plan, claim_plan
    assert "Index Scan using" in claim_plan and "Seq Scan" not in claim_plan, claim_plan
    for plan in result.plans.values():
        assert "Index Scan using ix_worklist_queue_order" in plan, plan
        assert "Seq Scan" not in plan, plan
    assert any(line.startswith("seeded 2,000 studies") for line in lines)
