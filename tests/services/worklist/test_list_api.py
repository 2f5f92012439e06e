"""GET /api/v1/worklist: views, filters, search, signed keyset pages, counts."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.kit.clock import utc_now
from services.kit.db import session_scope
from services.models import WorklistItem
from tests.factories.tenant import Consortium
from tests.fixtures.api_client import Api
from tests.fixtures.databases import Database
from tests.services.worklist.conftest import add_study, assert_error

pytestmark = pytest.mark.integration
URL = "/api/v1/worklist"


def _ids(api: Api, account: object, **params: object) -> list[str]:
    response = api.get(account, URL, **params)  # type: ignore[arg-type]
    assert response.status_code == 200, response.text
    return [i["id"] for i in response.json()["items"]]


class TestOrderAndPages:
    def test_priority_desc_then_oldest_first(
        self, api: Api, consortium: Consortium, use_database: Database
    ) -> None:
        low = add_study(use_database, consortium.clinic_a, priority=50)
        old_high = add_study(use_database, consortium.clinic_a, priority=700)
        new_high = add_study(use_database, consortium.clinic_b, priority=700)

        ids = _ids(api, consortium.radiologist)

        assert ids == [str(old_high.id), str(new_high.id), str(low.id)]

    def test_cursor_walks_every_item_once(
        self, api: Api, consortium: Consortium, use_database: Database
    ) -> None:
        made = {
            str(add_study(use_database, consortium.clinic_a, priority=p % 3).id) for p in range(7)
        }
        seen: list[str] = []
        cursor = None
        while True:
            params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
            body = api.get(consortium.radiologist, URL, **params).json()
            seen += [i["id"] for i in body["items"]]
            cursor = body["next_cursor"]
            if cursor is None:
                break
        assert sorted(seen) == sorted(made)
        assert len(seen) == len(set(seen))

    def test_tampered_cursor_is_400(
        self, api: Api, consortium: Consortium, use_database: Database
    ) -> None:
        for _ in range(3):
            add_study(use_database, consortium.clinic_a)
        cursor = api.get(consortium.radiologist, URL, limit=1).json()["next_cursor"]
        body, tag = cursor.split(".")
        forged = f"{body[:-2]}{'A' if body[-2] != 'A' else 'B'}{body[-1]}.{tag}"

        assert_error(
            api.get(consortium.radiologist, URL, limit=1, cursor=forged),
            400,
            "invalid_cursor",
            "invalid page cursor",
        )

    def test_cursor_of_other_filters_is_400(
        self, api: Api, consortium: Consortium, use_database: Database
    ) -> None:
        for _ in range(3):
            add_study(use_database, consortium.clinic_a)
        cursor = api.get(consortium.radiologist, URL, limit=1).json()["next_cursor"]

        response = api.get(consortium.radiologist, URL, limit=1, cursor=cursor, band="low")

        assert_error(response, 400, "invalid_cursor")

    @pytest.mark.parametrize("limit", [0, 201])
    def test_limit_out_of_range_is_422(self, api: Api, consortium: Consortium, limit: int) -> None:
        assert_error(api.get(consortium.radiologist, URL, limit=limit), 422, "invalid_request")


class TestFilters:
    @pytest.mark.parametrize(
        ("name", "value", "allowed"),
        [
            ("view", "everything", "all_unread"),
            ("band", "urgent", "critical"),
            ("patient_type", "vip", "health_check"),
            ("due", "tomorrow", "overdue"),
            ("modality", "XYZ", "'CT'"),
            ("status", "DONE", "REPORTED"),
        ],
    )
    def test_unknown_value_is_422_naming_allowed_values(
        self, api: Api, consortium: Consortium, name: str, value: str, allowed: str
    ) -> None:
        response = api.get(consortium.radiologist, URL, **{name: value})
        assert_error(response, 422, "invalid_request", name, allowed)

    def test_band_modality_and_clinic(
        self, api: Api, consortium: Consortium, use_database: Database
    ) -> None:
        critical_ct = add_study(use_database, consortium.clinic_a, priority=650)
        add_study(use_database, consortium.clinic_a, priority=650, modality="MR")
        add_study(use_database, consortium.clinic_a, priority=120)
        clinic_b_ct = add_study(use_database, consortium.clinic_b, priority=700)

        assert _ids(api, consortium.radiologist, band="critical", modality="CT") == [
            str(clinic_b_ct.id),
            str(critical_ct.id),
        ]
        assert _ids(
            api, consortium.radiologist, band="critical", clinic=str(consortium.clinic_a.id)
        ) == [str(critical_ct.id), _ids(api, consortium.radiologist, modality="MR")[0]]

    def test_clinic_the_hospital_does_not_read_for_is_404(
        self, api: Api, consortium: Consortium, other: Consortium
    ) -> None:
        response = api.get(consortium.radiologist, URL, clinic=str(other.clinic_a.id))
        assert_error(response, 404, "clinic_not_found", "reads for")

    def test_overdue(self, api: Api, consortium: Consortium, use_database: Database) -> None:
        late = add_study(use_database, consortium.clinic_a)
        add_study(use_database, consortium.clinic_a)
        with session_scope(use_database.factory) as session:
            row = session.get(WorklistItem, late.id)
            assert row is not None
            row.due_at = utc_now() - timedelta(minutes=5)

        assert _ids(api, consortium.radiologist, due="overdue") == [str(late.id)]
        counts = api.get(consortium.radiologist, f"{URL}/counts").json()
        assert counts == {"by_status": {"UNREAD": 2, "CLAIMED": 0, "REPORTED": 0}, "overdue": 1}


class TestSearch:
    @pytest.mark.parametrize("q", ["张三", "zs", "ZS", "zhangs", "ACC-77", "PID-9"])
    def test_name_initials_pinyin_accession_or_patient_id(
        self, api: Api, consortium: Consortium, use_database: Database, q: str
    ) -> None:
        target = add_study(
            use_database,
            consortium.clinic_a,
            patient_name="张三",
            accession_number="ACC-77",
            patient_id="PID-9",
        )
        add_study(use_database, consortium.clinic_a, patient_name="李四", patient_id="PID-1")

        assert _ids(api, consortium.radiologist, q=q) == [str(target.id)]

    def test_like_wildcards_are_literal(
        self, api: Api, consortium: Consortium, use_database: Database
    ) -> None:
        add_study(use_database, consortium.clinic_a, patient_name="王五")
        assert _ids(api, consortium.radiologist, q="%") == []


class TestViews:
    def test_my_claimed_holds_only_the_callers_claims(
        self, api: Api, consortium: Consortium, use_database: Database
    ) -> None:
        mine = add_study(use_database, consortium.clinic_a)
        theirs = add_study(use_database, consortium.clinic_a)
        free = add_study(use_database, consortium.clinic_a)
        reader, senior = consortium.radiologist, consortium.senior_radiologist
        assert api.post(reader, f"{URL}/{mine.id}/claim").status_code == 200
        assert api.post(senior, f"{URL}/{theirs.id}/claim").status_code == 200

        assert _ids(api, reader, view="my_claimed") == [str(mine.id)]
        assert _ids(api, reader, view="pending_my_review") == []  # claims await no review
        assert sorted(_ids(api, reader, view="my_unread")) == sorted([str(mine.id), str(free.id)])
        assert _ids(api, reader, view="all_unread") == [str(free.id)]
        assert sorted(_ids(api, reader, status="CLAIMED")) == sorted([str(mine.id), str(theirs.id)])


class TestTenantBoundary:
    def test_other_tenant_sees_none_of_the_items_or_counts(
        self, api: Api, consortium: Consortium, other: Consortium, use_database: Database
    ) -> None:
        item = add_study(use_database, consortium.clinic_a, patient_name="张三")

        assert _ids(api, other.radiologist, q="zs") == []
        assert api.get(other.radiologist, f"{URL}/counts").json()["by_status"]["UNREAD"] == 0
        assert_error(
            api.post(other.radiologist, f"{URL}/{item.id}/claim"), 404, "worklist_item_not_found"
        )

    def test_clinic_staff_is_403(self, api: Api, consortium: Consortium) -> None:
        assert_error(api.get(consortium.clinic_staff, URL), 403, "forbidden")
        assert_error(api.get(consortium.clinic_staff, f"{URL}/counts"), 403, "forbidden")
