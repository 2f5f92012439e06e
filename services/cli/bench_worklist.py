"""``radbridge bench worklist``: the worklist at regional scale on PostgreSQL (QUALITY.md P9/P10).

Creates its own database, seeds tenants/organizations/radiologists through the ORM and the bulk
(studies, worklist items) with ``generate_series`` SQL, then measures through the real API
(FastAPI TestClient, bearer tokens, roles checked against the access epoch per request):
first-page p50/p99 of filtered worklists for random tenants, claim p99, and first-page p99
under a concurrent write load against idle (alternating rounds); and the raw psycopg p99 of the
very same SQL. Also the CPU time of this process per idle API request (client and server side
together): on a shared 2-core host it is steadier than wall-clock percentiles (QUALITY.md 2.1).
Prints ratios and EXPLAIN (ANALYZE, BUFFERS) plans. Never asserted on timings: this is a
measuring tool.
"""

from __future__ import annotations

import random
import statistics
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import psycopg
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from services.auth.passwords import hash_secret
from services.auth.principal import Principal
from services.auth.tokens import TokenClaims, issue_access_token
from services.domain.roles import Role
from services.kit.db import make_engine, session_scope
from services.kit.ids import new_id
from services.kit.migrate import upgrade
from services.kit.settings import get_settings
from services.models import Organization, ReadingAgreement, Tenant, User, UserRole
from services.worklist import query, repository

FILTERS: tuple[dict[str, str], ...] = ({}, {"modality": "CT"}, {"band": "high"})
_MODALITIES = "ARRAY['CR','DX','CT','MR','US']"


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


def _libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def create_database(server_url: str) -> str:
    """Create an empty database on the server of ``server_url``; return its SQLAlchemy URL."""
    name = f"radbridge_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(_libpq(server_url), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{server_url.rsplit('/', 1)[0]}/{name}"


def drop_database(url: str) -> None:
    """Drop a database made by ``create_database``."""
    server, name = url.rsplit("/", 1)
    with psycopg.connect(_libpq(f"{server}/postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _seed_orgs(session: Session, tenants: int) -> list[tuple[Tenant, Organization, User]]:
    password = hash_secret(uuid.uuid4().hex)
    made = []
    for t in range(tenants):
        tenant = Tenant(id=new_id(), slug=f"bench-{t}", name=f"Bench consortium {t}", settings={})
        hospital = Organization(
            id=new_id(), tenant_id=tenant.id, code="h", name="County", kind="hospital",
            patient_id_issuer=f"bench-{t}/h",
        )  # fmt: skip
        clinics = [
            Organization(
                id=new_id(),
                tenant_id=tenant.id,
                code=f"c{c}",
                name=f"Clinic {c}",
                kind="clinic",
                patient_id_issuer=f"bench-{t}/c{c}",
            )
            for c in range(4)
        ]
        user = User(
            id=new_id(), tenant_id=tenant.id, organization_id=hospital.id,
            username=f"bench-{t}.radiologist", display_name="Reader", password_hash=password,
        )  # fmt: skip
        for batch in ([tenant], [hospital, *clinics], [user]):
            session.add_all(batch)
            session.flush()
        session.add(UserRole(user_id=user.id, role=Role.RADIOLOGIST.value))
        session.add_all(
            ReadingAgreement(tenant_id=tenant.id, reader_org_id=hospital.id, clinic_org_id=c.id)
            for c in clinics
        )
        session.flush()
        made.append((tenant, hospital, user))
    return made


def _fill(conn: psycopg.Connection, table: str, given: dict[str, str]) -> tuple[str, str]:
    """Return column and value lists: ``given`` plus a neutral value for other NOT NULL columns."""
    rows = conn.execute(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = %s"
        " AND is_nullable = 'NO' AND column_default IS NULL",
        (table,),
    ).fetchall()
    neutral = {"integer": "0", "bigint": "0", "boolean": "false", "json": "'{}'"}
    values = dict(given)
    for name, kind in rows:
        if name not in values:
            values[name] = "now()" if "timestamp" in kind else neutral.get(kind, "''")
    return ", ".join(values), ", ".join(values.values())


def _inserts(conn: psycopg.Connection, rows: str, status: str) -> tuple[str, str]:
    """Return INSERT ... SELECT of studies and items, one per number ``g`` of ``rows``."""
    n_links = conn.execute("SELECT count(*) FROM bench_map").fetchone()[0]  # type: ignore[index]
    study_cols, study_vals = _fill(conn, "study", {
        "id": "md5('s' || g)::uuid", "tenant_id": "m.tenant_id", "organization_id": "m.clinic_id",
        "study_instance_uid": "'1.2.826.0.1.' || g", "patient_id": "'P' || g",
        "patient_name": "'PATIENT^' || g", "patient_name_pinyin": "'patient' || g",
        "patient_name_initials": "'p' || (g % 1000)", "accession_number": "'A' || g",
        "modality": f"({_MODALITIES})[1 + g % 5]", "status": "'REPORTED'",
        "received_at": "now() - make_interval(secs => g)", "updated_at": "now()",
    })  # fmt: skip
    item_cols, item_vals = _fill(conn, "worklist_item", {
        "id": "md5('w' || g)::uuid", "tenant_id": "m.tenant_id", "study_id": "md5('s' || g)::uuid",
        "reader_org_id": "m.reader_org_id", "clinic_org_id": "m.clinic_id", "status": status,
        "priority": "(g::bigint * 7919) % 1000", "priority_reason": "'bench'",
        "ai_flag": "'AI_DONE'",
        "due_at": "now() - make_interval(secs => g) + interval '4 hours'",
        "created_at": "now() - make_interval(secs => g)", "updated_at": "now()",
        "modality": f"({_MODALITIES})[1 + g % 5]", "patient_name": "'PATIENT^' || g",
        "patient_id": "'P' || g", "accession_number": "'A' || g",
    })  # fmt: skip
    source = f"FROM {rows} JOIN bench_map m ON m.k = g % {n_links}"
    return (
        f"INSERT INTO study ({study_cols}) SELECT {study_vals} {source}",
        f"INSERT INTO worklist_item ({item_cols}) SELECT {item_vals} {source}",
    )


def _seed_bulk(conn: psycopg.Connection, studies: int, open_items: int) -> None:
    """Insert studies and their worklist items with generate_series (seconds, not minutes)."""
    conn.execute(
        "CREATE UNLOGGED TABLE bench_map AS SELECT row_number() OVER"
        " (ORDER BY o.tenant_id, o.code) - 1 AS k, o.tenant_id, o.id AS clinic_id,"
        " r.reader_org_id FROM organization o JOIN reading_agreement r"
        " ON r.clinic_org_id = o.id WHERE o.kind = 'clinic'"
    )
    status = (
        f"CASE WHEN g > {open_items} THEN 'REPORTED' WHEN g % 10 = 0 THEN 'CLAIMED'"
        " ELSE 'UNREAD' END"
    )
    for statement in _inserts(conn, f"generate_series(1, {int(studies)}) g", status):
        conn.execute(statement)
    conn.execute("ANALYZE study")
    conn.execute("ANALYZE worklist_item")


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


class _Writer(threading.Thread):
    """Steady write load: a new study + item and a priority update, ``rate`` times a second."""

    def __init__(self, url: str, rate: float) -> None:
        super().__init__(daemon=True)
        self.url, self.rate, self.stop, self.writes = url, rate, threading.Event(), 0

    def run(self) -> None:
        with psycopg.connect(_libpq(self.url), autocommit=True) as conn:
            study_sql, item_sql = (
                sql.replace("%", "%%").replace("%%(g)s", "%(g)s")
                for sql in _inserts(conn, "(SELECT %(g)s::bigint AS g) x", "'UNREAD'")
            )
            base = 10_000_000 + random.randrange(1_000_000) * 1000
            while not self.stop.is_set():
                g = base + self.writes
                with conn.transaction():
                    conn.execute(study_sql, {"g": g})
                    conn.execute(item_sql, {"g": g})
                    conn.execute(
                        "UPDATE worklist_item SET priority = (priority + 1) %% 1000,"
                        " updated_at = now() WHERE id = md5('w' || (%s %% 50000 + 1))::uuid",
                        (g,),
                    )
                self.writes += 1
                time.sleep(1 / self.rate)


def run_bench(
    url: str,
    *,
    studies: int = 1_000_000,
    tenants: int = 200,
    open_items: int = 50_000,
    requests: int = 1000,
    rounds: int = 3,
    write_rate: float = 200.0,
    echo: Callable[[str], None] = print,
) -> BenchResult:
    """Seed ``url`` (a fresh, empty PostgreSQL database) and measure; see the module doc."""
    result = BenchResult()
    upgrade(url)
    settings = get_settings()
    settings.database.url = url  # the API process under test reads this database
    start = time.perf_counter()
    engine = make_engine(url)
    with session_scope(_session_maker(engine)) as session:
        made = _seed_orgs(session, tenants)
    with psycopg.connect(_libpq(url), autocommit=True) as conn:
        _seed_bulk(conn, studies, open_items)
    result.seed_s = time.perf_counter() - start
    echo(f"seeded {studies:,} studies / {tenants} tenants / {open_items:,} open in "
         f"{result.seed_s:.1f} s")  # fmt: skip
    readers = [Reader(t.id, h.id, u.id, _token(settings, t.id, h.id, u.id)) for t, h, u in made]
    rng = random.Random(5)
    picks = [(rng.choice(readers), FILTERS[i % len(FILTERS)]) for i in range(requests)]
    with session_scope(_session_maker(engine)) as session:
        sqls = [_sql_of(session, r, p, 50) for r, p in picks]
        for params in FILTERS[1:]:
            sql_text = _sql_of(session, readers[0], params, 50)
            result.plans[f"first page {params}"] = _explain(url, sql_text)
    from services.api.app import create_app

    with TestClient(create_app()) as client:
        _measure(
            client, url=url, readers=readers, picks=picks, sqls=sqls, rounds=rounds,
            write_rate=write_rate, f=result.figures,
        )  # fmt: skip
    engine.dispose()
    return result


def _measure(
    client: TestClient,
    *,
    url: str,
    readers: list[Reader],
    picks: list[tuple[Reader, dict[str, str]]],
    sqls: list[str],
    rounds: int,
    write_rate: float,
    f: dict[str, float],
) -> None:
    with psycopg.connect(_libpq(url)) as raw:

        def api_call(i: int) -> None:
            reader, params = picks[i]
            response = client.get(
                "/api/v1/worklist", params={**params, "limit": 50},
                headers={"Authorization": f"Bearer {reader.token}"},
            )  # fmt: skip
            assert response.status_code == 200, response.text

        def raw_call(i: int) -> None:
            raw.execute(sqls[i]).fetchall()

        n = len(picks)
        _timed(min(100, n), api_call)  # warm-up
        _timed(min(100, n), raw_call)
        api: list[float] = []
        sql: list[float] = []
        idle: list[float] = []
        load: list[float] = []
        cpu_s = 0.0
        for _ in range(rounds):  # A B A B: raw SQL, API idle, API under write load
            sql += _timed(n, raw_call)
            cpu_start = time.process_time()
            idle_run = _timed(n, api_call)
            cpu_s += time.process_time() - cpu_start
            api += idle_run
            idle.append(_percentile(idle_run, 0.99))
            writer = _Writer(url, write_rate)
            writer.start()
            load.append(_percentile(_timed(n, api_call), 0.99))
            writer.stop.set()
            writer.join()
    claims = _claims(client, url, readers, n)
    f["api_first_page_p50_ms"] = statistics.median(api)
    f["api_first_page_p99_ms"] = _percentile(api, 0.99)
    f["sql_first_page_p50_ms"] = statistics.median(sql)
    f["sql_first_page_p99_ms"] = _percentile(sql, 0.99)
    f["api_over_sql_p99"] = f["api_first_page_p99_ms"] / f["sql_first_page_p99_ms"]
    f["api_cpu_ms_per_request"] = cpu_s * 1000 / (n * rounds)
    f["claim_p50_ms"] = statistics.median(claims)
    f["claim_p99_ms"] = _percentile(claims, 0.99)
    f["idle_p99_ms"] = statistics.median(idle)
    f["under_load_p99_ms"] = statistics.median(load)
    f["load_over_idle_p99"] = f["under_load_p99_ms"] / f["idle_p99_ms"]


def _session_maker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


def _token(settings: object, tenant_id: uuid.UUID, org_id: uuid.UUID, user_id: uuid.UUID) -> str:
    claims = TokenClaims(
        subject=str(user_id), kind="user", tenant_id=tenant_id, organization_id=org_id,
        roles=frozenset({Role.RADIOLOGIST.value}), token_id=new_id().hex,
    )  # fmt: skip
    return issue_access_token(settings, claims)[0]  # type: ignore[arg-type]


def _explain(url: str, sql: str) -> str:
    with psycopg.connect(_libpq(url)) as conn:
        rows = conn.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}").fetchall()
    return "\n".join(r[0] for r in rows)


def _claims(client: TestClient, url: str, readers: list[Reader], n: int) -> list[float]:
    by_hospital = {r.hospital_id: r for r in readers}
    with psycopg.connect(_libpq(url)) as conn:
        rows = conn.execute(
            "SELECT id, reader_org_id FROM worklist_item WHERE status = 'UNREAD'"
            " ORDER BY md5(id::text) LIMIT %s",
            (n,),
        ).fetchall()

    def claim(i: int) -> None:
        item_id, hospital = rows[i]
        response = client.post(
            f"/api/v1/worklist/{item_id}/claim",
            headers={"Authorization": f"Bearer {by_hospital[hospital].token}"},
        )
        assert response.status_code == 200, response.text

    return _timed(len(rows), claim)


def report(result: BenchResult, echo: Callable[[str], None] = print) -> None:
    """Print the figures against the issue-5 targets, then the plans."""
    f = result.figures
    targets = {
        "api_first_page_p99_ms": 15.0,
        "claim_p99_ms": 20.0,
        "load_over_idle_p99": 2.0,
        "api_over_sql_p99": 20.0,
    }
    for name, value in f.items():
        target = targets.get(name)
        verdict = (
            "" if target is None else (" ok" if value <= target else " OVER") + f" (<= {target})"
        )
        echo(f"{name:28s} {value:9.3f}{verdict}")
    for name, plan in result.plans.items():
        echo(f"\nEXPLAIN ANALYZE {name}:\n{plan}")
