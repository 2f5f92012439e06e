"""Cached principals and scopes: a request reads one counter, and revocation still counts at once.

Every change below is made straight in SQL, as another API process or an operator would: only
the database triggers of the access epoch can tell this process about it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import delete, event, insert, select, update
from sqlalchemy.engine import Engine

from services.kit.db import session_factory
from services.models import AccessEpoch, ReadingAgreement, User, UserRole
from tests.factories.tenant import Consortium
from tests.fixtures.api_client import Api
from tests.fixtures.databases import Database
from tests.services.worklist.conftest import add_study, assert_error

pytestmark = pytest.mark.integration
URL = "/api/v1/worklist"


def _epoch(db: Database) -> int:
    with db.factory() as session:
        return int(session.scalars(select(AccessEpoch.value)).one())


def _sql(db: Database, statement: Any) -> None:
    with db.factory() as session:
        session.execute(statement)
        session.commit()


@pytest.fixture
def statements(use_database: Database) -> Iterator[list[str]]:
    """Collect the SQL the API process sends to the test database."""
    engine: Engine = session_factory().kw["bind"]
    seen: list[str] = []

    def record(*args: Any) -> None:
        seen.append(str(args[2]))

    event.listen(engine, "before_cursor_execute", record)
    yield seen
    event.remove(engine, "before_cursor_execute", record)


def test_a_warm_list_request_reads_the_epoch_and_the_page_only(
    api: Api, consortium: Consortium, use_database: Database, statements: list[str]
) -> None:
    add_study(use_database, consortium.clinic_a)
    clinic = str(consortium.clinic_a.id)
    assert api.get(consortium.radiologist, URL, clinic=clinic).status_code == 200
    statements.clear()

    assert api.get(consortium.radiologist, URL, clinic=clinic).status_code == 200

    touched = " ".join(statements)
    assert "access_epoch" in touched
    for table in ("user_account", "user_role", "reading_agreement"):
        assert table not in touched, statements
    assert len([s for s in statements if "worklist_item" in s]) == 1


@pytest.mark.parametrize("table", ["user_account", "user_role", "reading_agreement"])
def test_any_change_made_in_sql_moves_the_epoch(
    consortium: Consortium, use_database: Database, table: str
) -> None:
    user_id = consortium.radiologist.user_id
    changes = {
        "user_account": update(User).where(User.id == user_id).values(display_name="李医生"),
        "user_role": insert(UserRole).values(user_id=user_id, role="senior_radiologist"),
        "reading_agreement": update(ReadingAgreement)
        .where(ReadingAgreement.reader_org_id == consortium.hospital.id)
        .values(lock_minutes=45),
    }
    before = _epoch(use_database)
    _sql(use_database, changes[table])
    assert _epoch(use_database) > before


def test_revoked_role_is_refused_on_the_next_request_though_cached(
    api: Api, consortium: Consortium, use_database: Database
) -> None:
    reader = consortium.radiologist
    for _ in range(2):  # the second request is served from the cache
        assert api.get(reader, URL).status_code == 200

    _sql(use_database, delete(UserRole).where(UserRole.user_id == reader.user_id))
    assert_error(api.get(reader, URL), 403, "forbidden", "radiologist")
    assert_error(api.get(reader, f"{URL}/counts"), 403, "forbidden")

    _sql(use_database, insert(UserRole).values(user_id=reader.user_id, role="radiologist"))
    assert api.get(reader, URL).status_code == 200


def test_disabled_account_is_refused_on_the_next_request(
    api: Api, consortium: Consortium, use_database: Database
) -> None:
    reader = consortium.radiologist
    item = add_study(use_database, consortium.clinic_a)
    assert api.get(reader, URL).status_code == 200

    _sql(use_database, update(User).where(User.id == reader.user_id).values(is_active=False))

    assert_error(api.get(reader, URL), 401, "unauthorized")
    assert_error(api.post(reader, f"{URL}/{item.id}/claim"), 401, "unauthorized")


def test_ended_reading_agreement_hides_the_clinic_at_once(
    api: Api, consortium: Consortium, use_database: Database
) -> None:
    reader, clinic = consortium.radiologist, str(consortium.clinic_a.id)
    assert api.get(reader, URL, clinic=clinic).status_code == 200

    _sql(
        use_database,
        update(ReadingAgreement)
        .where(ReadingAgreement.clinic_org_id == consortium.clinic_a.id)
        .values(active=False),
    )

    assert_error(api.get(reader, URL, clinic=clinic), 404, "clinic_not_found")
