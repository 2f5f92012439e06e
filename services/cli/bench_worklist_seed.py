"""Seeding for ``radbridge bench worklist``: tenants through the ORM, the bulk in SQL.

Studies and worklist items are inserted with ``generate_series`` so a million rows take under
a minute; every other NOT NULL column gets a neutral value, so the seed keeps up with the
model without edits.
"""

from __future__ import annotations

import uuid

import psycopg
from sqlalchemy.orm import Session

from services.auth.passwords import hash_secret
from services.domain.roles import Role
from services.kit.ids import new_id
from services.models import Organization, ReadingAgreement, Tenant, User, UserRole

_MODALITIES = "ARRAY['CR','DX','CT','MR','US']"


def libpq(url: str) -> str:
    """Return the libpq form of a SQLAlchemy PostgreSQL URL."""
    return url.replace("postgresql+psycopg://", "postgresql://")


def create_database(server_url: str) -> str:
    """Create an empty database on the server of ``server_url``; return its SQLAlchemy URL."""
    name = f"radbridge_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(libpq(server_url), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{server_url.rsplit('/', 1)[0]}/{name}"


def drop_database(url: str) -> None:
    """Drop a database made by ``create_database``."""
    server, name = url.rsplit("/", 1)
    with psycopg.connect(libpq(f"{server}/postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def seed_orgs(session: Session, tenants: int) -> list[tuple[Tenant, Organization, User]]:
    """Create tenants, each with a hospital, four clinics, agreements and one radiologist."""
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


def inserts(conn: psycopg.Connection, rows: str, status: str) -> tuple[str, str]:
    """Return INSERT ... SELECT of studies and items, one per number ``g`` of ``rows``."""
    n_links = conn.execute("SELECT count(*) FROM bench_map").fetchone()[0]  # type: ignore[index]
    study_cols, study_vals = _fill(conn, "study", {
        "id": "md5('s' || g)::uuid", "tenant_id": "m.tenant_id", "organization_id": "m.clinic_id",
        "study_instance_uid": "'1.2.826.0.1.' || g", "patient_id": "'P' || g",
        "patient_name": "'PATIENT^' || g", "patient_name_pinyin": "'patient' || g",
        "patient_name_initials": "'p' || (g % 1000)", "accession_number": "'A' || g",
        "modality": f"({_MODALITIES})[1 + g % 5]", "status": "'REPORTED'",
        "received_at": "now() - make_interval(secs => g)", "updated_at": "now()",
        "urgency": "'routine'", "patient_type": "'outpatient'",
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


def seed_bulk(conn: psycopg.Connection, studies: int, open_items: int) -> None:
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
    for statement in inserts(conn, f"generate_series(1, {int(studies)}) g", status):
        conn.execute(statement)
    conn.execute("ANALYZE study")
    conn.execute("ANALYZE worklist_item")
