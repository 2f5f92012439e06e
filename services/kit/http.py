"""FastAPI glue shared by every router: the request's database session and settings."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

from fastapi import Depends
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from services.kit.db import session_factory
from services.kit.errors import ServiceUnavailable
from services.kit.settings import CoreSettings, get_settings


@contextmanager
def request_session(*, read_only: bool = False) -> Iterator[Session]:
    """Open the request's unit of work: commit on success, roll back otherwise, 503 if down.

    ``get_db`` wraps this for ordinary endpoints; hot endpoints that do their whole job in one
    worker-thread call (no per-dependency thread hops) open it themselves. ``read_only`` runs
    each statement in autocommit mode: no BEGIN/COMMIT round trips for a request that writes
    nothing (an audited denial writes through its own session anyway).
    """
    session = session_factory()()
    try:
        if read_only:
            session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
        yield session
        session.commit()
    except OperationalError as exc:
        session.rollback()
        raise ServiceUnavailable("The database is unavailable; retry in a few seconds.") from exc
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def get_db() -> Iterator[Session]:
    """Yield a session that commits when the endpoint succeeds and rolls back otherwise."""
    with request_session() as session:
        yield session


# scope="function": commit before the response is sent, so a 2xx means the data is stored.
DbSession = Annotated[Session, Depends(get_db, scope="function")]
Settings = Annotated[CoreSettings, Depends(get_settings)]
