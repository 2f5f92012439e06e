"""FastAPI glue shared by every router: the request's database session and settings."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from services.kit.db import session_factory
from services.kit.errors import ServiceUnavailable
from services.kit.settings import CoreSettings, get_settings


def get_db() -> Iterator[Session]:
    """Yield a session that commits when the endpoint succeeds and rolls back otherwise."""
    session = session_factory()()
    try:
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


# scope="function": commit before the response is sent, so a 2xx means the data is stored.
DbSession = Annotated[Session, Depends(get_db, scope="function")]
Settings = Annotated[CoreSettings, Depends(get_settings)]
