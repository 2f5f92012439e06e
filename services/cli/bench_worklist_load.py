"""Write loads held while ``radbridge bench worklist`` reads the worklist (QUALITY.md P10).

Two kinds: the ingest path itself (``Registrar``: the watcher's registration of new stable
studies through ``study.service.register``, worklist item and audit included), and a heavier
raw SQL churn (``SqlWriter``: inserts plus priority updates) that bounds what any ingest rate
could do to the readers. Each runs in a process of its own, as ingest does in production (the
watcher, the gateway): in the API's process it would compete for the interpreter lock and
measure Python, not the database.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import time
import uuid
from multiprocessing.context import SpawnProcess

import psycopg
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from services.cli.bench_worklist_seed import inserts, libpq
from services.contracts.ingest import SeriesFacts, StudyFacts
from services.kit.db import make_engine
from services.models import Organization
from services.study import service as study_service

_SPAWN = multiprocessing.get_context("spawn")  # no fork of a process with threads


class _Load(SpawnProcess):
    """A write load at ``rate`` a second until ``stop`` is set; counts writes and time."""

    def __init__(self, url: str, rate: float) -> None:
        super().__init__(daemon=True)
        self.url, self.rate = url, rate
        self.stop = _SPAWN.Event()
        self.first_write = _SPAWN.Event()  # readers are timed only once the load writes
        self._writes = _SPAWN.Value("q", 0)
        self._elapsed_s = _SPAWN.Value("d", 0.0)

    @property
    def writes(self) -> int:
        """Return the writes made so far."""
        return int(self._writes.value)

    @property
    def elapsed_s(self) -> float:
        """Return how long the load ran (set when it stops)."""
        return float(self._elapsed_s.value)

    def wrote(self) -> None:
        """Count one write."""
        self._writes.value += 1
        self.first_write.set()

    def run(self) -> None:
        """Write until stopped; keep the elapsed time for the rate."""
        os.environ["RADBRIDGE_DATABASE__URL"] = self.url  # the platform code reads settings
        start = time.perf_counter()
        try:
            self._work()
        finally:
            self._elapsed_s.value = time.perf_counter() - start

    def _work(self) -> None:
        raise NotImplementedError


class SqlWriter(_Load):
    """Steady write load: a new study + item and a priority update, ``rate`` times a second."""

    def _work(self) -> None:
        with psycopg.connect(libpq(self.url), autocommit=True) as conn:
            study_sql, item_sql = (
                sql.replace("%", "%%").replace("%%(g)s", "%(g)s")
                for sql in inserts(conn, "(SELECT %(g)s::bigint AS g) x", "'UNREAD'")
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
                self.wrote()
                time.sleep(1 / self.rate)


def _facts(n: int) -> StudyFacts:
    uid = f"2.25.{uuid.uuid4().int}"
    series = SeriesFacts(
        series_instance_uid=f"{uid}.1", orthanc_id=None, modality="CT", body_part="CHEST",
        instance_count=150,
    )  # fmt: skip
    return StudyFacts(
        study_instance_uid=uid, orthanc_id=None, patient_id=f"LOAD{n}",
        patient_name=f"LOAD^{n}", patient_sex="F", patient_birth_date="19600101",
        accession_number=f"L{n}", study_date="20261125", description="load", series=(series,),
    )  # fmt: skip


class Registrar(_Load):
    """New stable studies registered as the change-feed watcher does, ``rate`` a second."""

    def _work(self) -> None:
        engine = make_engine(self.url, pool_size=1)
        factory = sessionmaker(bind=engine, expire_on_commit=False)
        with factory() as session:
            clinics = list(
                session.scalars(select(Organization).where(Organization.kind == "clinic"))
            )
        rng = random.Random(11)
        try:
            while not self.stop.is_set():
                self._register(factory, rng.choice(clinics))
                time.sleep(1 / self.rate)
        finally:
            engine.dispose()

    def _register(self, factory: sessionmaker[Session], clinic: Organization) -> None:
        with factory() as session:
            study_service.register(
                session, clinic=clinic, facts=_facts(self.writes), source="bench"
            )
            session.commit()
        self.wrote()
