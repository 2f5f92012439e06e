"""Database engine, sessions and the after-commit outbox.

Services never commit: the request (or ``session_scope`` in a worker) commits once at the end.
Work for Celery is appended to ``session.info["outbox"]`` and published only after that commit,
so a task never runs against rows that were rolled back.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from sqlalchemy import MetaData, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from services.kit.settings import get_settings

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base with a stable constraint naming convention (for Alembic)."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


@dataclass(frozen=True)
class OutboxMessage:
    """A task to publish once the surrounding transaction has committed."""

    task_name: str
    kwargs: dict[str, Any]
    queue: str | None = None


@dataclass
class _Publisher:
    send: Callable[[OutboxMessage], None] | None = None
    collect_only: bool = False  # tests: keep messages in ``sent`` and run tasks themselves
    sent: list[OutboxMessage] = field(default_factory=list)


PUBLISHER = _Publisher()


def set_publisher(send: Callable[[OutboxMessage], None] | None) -> None:
    """Install the function that publishes outbox messages (the Celery app does this)."""
    PUBLISHER.send = send


def enqueue(session: Session, task_name: str, *, queue: str | None = None, **kwargs: Any) -> None:
    """Queue a task to be sent after ``session`` commits; kwargs must be ids, never PHI."""
    session.info.setdefault("outbox", []).append(OutboxMessage(task_name, kwargs, queue))


@event.listens_for(Session, "after_commit")
def _publish_outbox(session: Session) -> None:
    messages: list[OutboxMessage] = session.info.pop("outbox", [])
    if messages and PUBLISHER.send is None and not PUBLISHER.collect_only:
        import services.kit.celery  # noqa: F401 - installs the Celery publisher on import
    for message in messages:
        if PUBLISHER.collect_only or PUBLISHER.send is None:
            PUBLISHER.sent.append(message)
            continue
        try:
            PUBLISHER.send(message)
        except Exception:
            PUBLISHER.sent.append(message)


@event.listens_for(Session, "after_rollback")
def _drop_outbox(session: Session) -> None:
    session.info.pop("outbox", None)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=15000")
    cursor.close()


def make_engine(url: str, *, echo: bool = False, pool_size: int = 10) -> Engine:
    """Create an engine; SQLite gets WAL and a busy timeout so several processes can share it."""
    if url.startswith("sqlite"):
        engine = create_engine(url, echo=echo, connect_args={"timeout": 15})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(
        url, echo=echo, pool_pre_ping=True, pool_size=pool_size, max_overflow=pool_size
    )


@lru_cache
def _factory(url: str) -> sessionmaker[Session]:
    settings = get_settings()
    engine = make_engine(url, echo=settings.database.echo, pool_size=settings.database.pool_size)
    return sessionmaker(bind=engine, expire_on_commit=False)


def session_factory() -> sessionmaker[Session]:
    """Return the process-wide session factory for the configured database."""
    return _factory(get_settings().database_url)


@contextmanager
def session_scope(factory: sessionmaker[Session] | None = None) -> Iterator[Session]:
    """Open a session, commit once at the end, roll back on any error."""
    session = (factory or session_factory())()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
