"""``radbridge bench worklist``: the worklist at regional scale on PostgreSQL (QUALITY.md P9/P10).

Creates its own database and seeds it (``bench_worklist_seed``), then measures through the real
API (FastAPI TestClient, bearer tokens, roles checked against the access epoch per request):
first-page p50/p99 of filtered worklists for random tenants, claim p99, and first-page p99
while new studies are registered through the ingest path and under a heavier raw SQL write
churn, each against idle (alternating rounds, ``bench_worklist_load``); the raw psycopg p99 of
the very same SQL; and the same API at 10 k studies, for the scale ratio P9 asks for. Also the
CPU time of this process per idle API request (client and server side together): on a shared
2-core host it is steadier than wall-clock percentiles (QUALITY.md 2.1). Prints ratios and
EXPLAIN (ANALYZE, BUFFERS) plans of the pages and of the claim. Never asserted on timings:
this is a measuring tool.
"""

from __future__ import annotations

import random
import statistics
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import psycopg
from fastapi.testclient import TestClient
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from services.auth.principal import Principal
from services.auth.tokens import TokenClaims, issue_access_token
from services.cli.bench_worklist_load import Registrar, SqlWriter
from services.cli.bench_worklist_seed import (
    create_database,
    drop_database,
    libpq,
    seed_bulk,
    seed_orgs,
)
from services.domain.roles import Role
from services.kit.db import make_engine, session_scope
from services.kit.ids import new_id
from services.kit.migrate import upgrade
from services.kit.settings import get_settings
from services.worklist import query, repository

FILTERS: tuple[dict[str, str], ...] = ({}, {"modality": "CT"}, {"band": "high"})
SMALL_SCALE_STUDIES = 10_000  # P9: the API at 1 M studies within 1.5x of itself at 10 k
__all__ = ["create_database", "drop_database", "report", "run_bench"]


@dataclass(frozen=True)
class Reader:
    """One tenant's radiologist, with a token and the ids the queries need."""

    tenant_id: uuid.UUID
    hospital_id: uuid.UUID
    user_id: uuid.UUID
    token: str


@dataclass
class BenchResult:
    """Everything measured, in milliseconds, plus the plans."""

    figures: dict[str, float] = field(default_factory=dict)
    plans: dict[str, str] = field(default_factory=dict)
    seed_s: float = 0.0


def _percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _timed(n: int, call: Callable[[int], None]) -> list[float]:
    out = []
    for i in range(n):
        start = time.perf_counter()
        call(i)
        out.append((time.perf_counter() - start) * 1000)
    return out


def _principal(r: Reader) -> Principal:
    return Principal(
        subject=str(r.user_id), kind="user", user_id=r.user_id, tenant_id=r.tenant_id,
        organization_id=r.hospital_id, roles=frozenset({Role.RADIOLOGIST.value}),
        display_name="Reader",
    )  # fmt: skip


def _sql_of(session: Session, r: Reader, params: dict[str, str], limit: int) -> str:
    wanted = query.WorklistQuery(**params)  # type: ignore[arg-type]
    f = query.build_filter(None, principal=_principal(r), query=wanted)
    return repository.queue_page_sql(session, f, limit=limit)


def _seed(url: str, *, studies: int, tenants: int, open_items: int) -> list[Reader]:
    upgrade(url)
    settings = get_settings()
    settings.database.url = url  # the API process under test reads this database
    engine = make_engine(url)
    with session_scope(_session_maker(engine)) as session:
        made = seed_orgs(session, tenants)
    engine.dispose()
    with psycopg.connect(libpq(url), autocommit=True) as conn:
        seed_bulk(conn, studies, open_items)
    return [Reader(t.id, h.id, u.id, _token(settings, t.id, h.id, u.id)) for t, h, u in made]


def _picks(readers: list[Reader], requests: int) -> list[tuple[Reader, dict[str, str]]]:
    rng = random.Random(5)
    return [(rng.choice(readers), FILTERS[i % len(FILTERS)]) for i in range(requests)]


def run_bench(
    url: str,
    *,
    studies: int = 1_000_000,
    tenants: int = 200,
    open_items: int = 50_000,
    requests: int = 1000,
    rounds: int = 3,
    write_rate: float = 200.0,
    ingest_rate: float = 20.0,
    small_scale: int = SMALL_SCALE_STUDIES,
    echo: Callable[[str], None] = print,
) -> BenchResult:
    """Seed ``url`` (a fresh, empty PostgreSQL database) and measure; see the module doc.

    ``small_scale`` studies (0: skip) are seeded first in a database of their own, with the
    same tenants and share of open items, and measured idle for the scale ratio.
    """
    from services.api.app import create_app

    result = BenchResult()
    if small_scale:
        small_url = create_database(url.rsplit("/", 1)[0] + "/postgres")
        try:
            small = _seed(
                small_url, studies=small_scale, tenants=tenants,
                open_items=max(1, open_items * small_scale // studies),
            )  # fmt: skip
            with TestClient(create_app()) as client:
                f: dict[str, float] = {}
                _measure(client, url=small_url, picks=_picks(small, requests), sqls=None,
                         rounds=1, loads={}, f=f)  # fmt: skip
            result.figures["small_scale_api_p99_ms"] = f["idle_p99_ms"]
        finally:
            drop_database(small_url)
    start = time.perf_counter()
    readers = _seed(url, studies=studies, tenants=tenants, open_items=open_items)
    result.seed_s = time.perf_counter() - start
    echo(f"seeded {studies:,} studies / {tenants} tenants / {open_items:,} open in "
         f"{result.seed_s:.1f} s")  # fmt: skip
    picks = _picks(readers, requests)
    engine = make_engine(url)
    with session_scope(_session_maker(engine)) as session:
        sqls = [_sql_of(session, r, p, 50) for r, p in picks]
        for params in FILTERS:
            sql_text = _sql_of(session, readers[0], params, 50)
            result.plans[f"first page {params}"] = _explain(url, sql_text)
    engine.dispose()
    loads: dict[str, Callable[[], SqlWriter | Registrar]] = {
        "ingest": lambda: Registrar(url, ingest_rate),
        "sql_churn": lambda: SqlWriter(url, write_rate),
    }
    with TestClient(create_app()) as client:
        _measure(client, url=url, picks=picks, sqls=sqls, rounds=rounds, loads=loads,
                 f=result.figures)  # fmt: skip
        claims, claim_plan = _claims(client, url, readers, len(picks))
    result.plans["claim"] = claim_plan
    f = result.figures
    f["claim_p50_ms"] = statistics.median(claims)
    f["claim_p99_ms"] = _percentile(claims, 0.99)
    if small_scale:
        f["scale_1m_over_10k_p99"] = f["idle_p99_ms"] / f["small_scale_api_p99_ms"]
    return result


def _measure(
    client: TestClient,
    *,
    url: str,
    picks: list[tuple[Reader, dict[str, str]]],
    sqls: list[str] | None,
    rounds: int,
    loads: dict[str, Callable[[], SqlWriter | Registrar]],
    f: dict[str, float],
) -> None:
    """Alternate raw SQL (when ``sqls``), the idle API and the API under each load."""
    with psycopg.connect(libpq(url)) as raw:

        def api_call(i: int) -> None:
            reader, params = picks[i]
            response = client.get(
                "/api/v1/worklist", params={**params, "limit": 50},
                headers={"Authorization": f"Bearer {reader.token}"},
            )  # fmt: skip
            assert response.status_code == 200, response.text

        def raw_call(i: int) -> None:
            assert sqls is not None
            raw.execute(sqls[i]).fetchall()

        n = len(picks)
        _timed(min(100, n), api_call)  # warm-up
        api: list[float] = []
        sql: list[float] = []
        idle: list[float] = []
        loaded: dict[str, list[float]] = {name: [] for name in loads}
        cpu_s = 0.0
        for _ in range(rounds):  # A B A B: raw SQL, API idle, API under each load
            if sqls is not None:
                sql += _timed(n, raw_call)
            cpu_start = time.process_time()
            idle_run = _timed(n, api_call)
            cpu_s += time.process_time() - cpu_start
            api += idle_run
            idle.append(_percentile(idle_run, 0.99))
            for name, make in loads.items():
                p99, f[f"{name}_writes_per_s"] = _under_load(name, make(), n, api_call)
                loaded[name].append(p99)
    f["api_first_page_p50_ms"] = statistics.median(api)
    f["api_first_page_p99_ms"] = _percentile(api, 0.99)
    if sql:
        f["sql_first_page_p50_ms"] = statistics.median(sql)
        f["sql_first_page_p99_ms"] = _percentile(sql, 0.99)
        f["api_over_sql_p99"] = f["api_first_page_p99_ms"] / f["sql_first_page_p99_ms"]
    f["api_cpu_ms_per_request"] = cpu_s * 1000 / (n * rounds)
    f["idle_p99_ms"] = statistics.median(idle)
    for name, p99s in loaded.items():
        f[f"{name}_p99_ms"] = statistics.median(p99s)
        f[f"{name}_over_idle_p99"] = f[f"{name}_p99_ms"] / f["idle_p99_ms"]


def _under_load(
    name: str, load: SqlWriter | Registrar, n: int, api_call: Callable[[int], None]
) -> tuple[float, float]:
    """Return the API p99 while ``load`` writes, and the writes a second it achieved."""
    load.start()
    try:
        if not load.first_write.wait(timeout=30):
            raise RuntimeError(f"the {name} load wrote nothing in 30 s")
        p99 = _percentile(_timed(n, api_call), 0.99)
    finally:
        load.stop.set()
        load.join()
    return p99, load.writes / max(load.elapsed_s, 1e-9)


def _session_maker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


def _token(settings: object, tenant_id: uuid.UUID, org_id: uuid.UUID, user_id: uuid.UUID) -> str:
    claims = TokenClaims(
        subject=str(user_id), kind="user", tenant_id=tenant_id, organization_id=org_id,
        roles=frozenset({Role.RADIOLOGIST.value}), token_id=new_id().hex,
    )  # fmt: skip
    return issue_access_token(settings, claims)[0]  # type: ignore[arg-type]


def _explain(url: str, sql: str) -> str:
    with psycopg.connect(libpq(url)) as conn:
        rows = conn.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}").fetchall()
    return "\n".join(r[0] for r in rows)


def _claims(client: TestClient, url: str, readers: list[Reader], n: int) -> tuple[list[float], str]:
    """Claim ``n`` unread items through the API; return the times and the claim's plan.

    The claim's UPDATE is caught as the API sends it and explained (ANALYZE) in a transaction
    that is rolled back.
    """
    by_hospital = {r.hospital_id: r for r in readers}
    with psycopg.connect(libpq(url)) as conn:
        rows = conn.execute(
            "SELECT id, reader_org_id FROM worklist_item WHERE status = 'UNREAD'"
            " ORDER BY md5(id::text) LIMIT %s",
            (n + 1,),
        ).fetchall()
    seen: list[tuple[str, Any]] = []

    def catch(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.lstrip().startswith("UPDATE worklist_item") and not seen:
            seen.append((statement, parameters))

    def claim(i: int) -> None:
        item_id, hospital = rows[i]
        response = client.post(
            f"/api/v1/worklist/{item_id}/claim",
            headers={"Authorization": f"Bearer {by_hospital[hospital].token}"},
        )
        assert response.status_code == 200, response.text

    event.listen(Engine, "before_cursor_execute", catch)
    try:
        claim(len(rows) - 1)
    finally:
        event.remove(Engine, "before_cursor_execute", catch)
    plan = "(the claim's UPDATE was not seen)"
    if seen:
        statement, parameters = seen[0]
        with psycopg.connect(libpq(url)) as conn:
            explained = conn.execute(f"EXPLAIN (ANALYZE, BUFFERS) {statement}", parameters)
            plan = "\n".join(r[0] for r in explained.fetchall())
            conn.rollback()
    return _timed(len(rows) - 1, claim), plan


def report(result: BenchResult, echo: Callable[[str], None] = print) -> None:
    """Print the figures against the issue-5 targets, then the plans."""
    f = result.figures
    targets = {
        "api_first_page_p99_ms": 15.0,
        "claim_p99_ms": 20.0,
        "ingest_over_idle_p99": 2.0,
        "sql_churn_over_idle_p99": 2.0,
        "api_over_sql_p99": 20.0,
        "scale_1m_over_10k_p99": 1.5,
    }
    for name, value in f.items():
        target = targets.get(name)
        verdict = (
            "" if target is None else (" ok" if value <= target else " OVER") + f" (<= {target})"
        )
        echo(f"{name:30s} {value:9.3f}{verdict}")
    for name, plan in result.plans.items():
        echo(f"\nEXPLAIN ANALYZE {name}:\n{plan}")
