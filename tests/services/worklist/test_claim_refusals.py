"""Why a claim is refused, now that the claim is one guarded UPDATE: the reason stays exact and
nothing changes."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import update

from services.models import WorklistItem
from tests.factories.tenant import Consortium
from tests.fixtures.api_client import Api
from tests.fixtures.databases import Database
from tests.services.worklist.conftest import add_study, assert_error

pytestmark = pytest.mark.integration


def _set(db: Database, item: WorklistItem, **values: Any) -> None:
    with db.factory() as session:
        session.execute(update(WorklistItem).where(WorklistItem.id == item.id).values(**values))
        session.commit()


def _stored(db: Database, item: WorklistItem) -> tuple[str, object]:
    with db.factory() as session:
        row = session.get_one(WorklistItem, item.id)
        return row.status, row.claimed_by_id


def test_reported_item_is_409_and_unchanged(
    api: Api, consortium: Consortium, use_database: Database
) -> None:
    item = add_study(use_database, consortium.clinic_a)
    _set(use_database, item, status="REPORTED")

    response = api.post(consortium.radiologist, f"/api/v1/worklist/{item.id}/claim")

    assert_error(response, 409, "already_reported", "already reported")
    assert _stored(use_database, item) == ("REPORTED", None)


def test_item_pushed_to_another_reader_is_409_but_a_senior_may_take_it(
    api: Api, consortium: Consortium, use_database: Database
) -> None:
    item = add_study(use_database, consortium.clinic_a)
    _set(use_database, item, assigned_to_id=consortium.radiologist.user_id)
    other_reader = consortium.account("senior_radiologist")

    refused = api.post(consortium.clinic_physician, f"/api/v1/worklist/{item.id}/claim")
    assert_error(refused, 403, "forbidden")
    taken = api.post(other_reader, f"/api/v1/worklist/{item.id}/claim")

    assert taken.status_code == 200, taken.text
    assert taken.json()["assigned_to_id"] == str(consortium.radiologist.user_id)
    assert _stored(use_database, item) == ("CLAIMED", other_reader.user_id)
    second = api.post(consortium.radiologist, f"/api/v1/worklist/{item.id}/claim")
    assert_error(second, 409, "already_claimed")


def test_unknown_item_is_404(api: Api, consortium: Consortium) -> None:
    response = api.post(
        consortium.radiologist, "/api/v1/worklist/00000000-0000-4000-8000-000000000000/claim"
    )
    assert_error(response, 404, "worklist_item_not_found")
