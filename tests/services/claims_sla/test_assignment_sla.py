"""Push assignment by subspecialty and load; SLA due times, escalation and breach counts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from services.domain.sla import add_working_time
from services.kit.clock import utc_now
from services.kit.db import session_scope
from services.models import Notification, ReadingAgreement, WorklistItem
from services.worklist import escalation
from tests.factories import tenant as tenant_factory
from tests.factories.tenant import Consortium
from tests.fixtures.api_client import Api
from tests.fixtures.databases import Database
from tests.services.claims_sla.conftest import add_study, assert_error

pytestmark = pytest.mark.integration


def _set_mode(db: Database, consortium: Consortium, mode: str) -> None:
    with db.factory() as session:
        session.execute(
            update(ReadingAgreement)
            .where(ReadingAgreement.reader_org_id == consortium.hospital.id)
            .values(assignment_mode=mode)
        )
        session.commit()


class TestPushAssignment:
    def test_new_item_goes_to_least_loaded_reader_with_the_subspecialty(
        self, api: Api, use_database: Database, consortium: Consortium
    ) -> None:
        busy, idle, neuro = tenant_factory.add_radiologists(use_database.factory, consortium, 3)
        lead = consortium.senior_radiologist
        for account, subs in ((busy, ["chest"]), (idle, ["chest"]), (neuro, ["neuro"])):
            body = {"subspecialties": subs, "max_open_items": 10}
            response = api.put(lead, f"/api/v1/worklist/readers/{account.user_id}", body)
            assert response.status_code == 200, response.text
        for _ in range(2):
            _, item = add_study(use_database, consortium.clinic_a)
            response = api.post(
                lead, f"/api/v1/worklist/{item.id}/assign", {"user_id": str(busy.user_id)}
            )
            assert response.status_code == 200, response.text
        _set_mode(use_database, consortium, "push")

        _, chest = add_study(use_database, consortium.clinic_a, description="Chest PA 胸部正位")
        _, head = add_study(use_database, consortium.clinic_b, description="Head CT 头颅平扫")

        assert chest.assigned_to_id == idle.user_id
        assert head.assigned_to_id == neuro.user_id
        # someone else claiming a pushed item is refused; the assignee may claim it
        assert_error(
            api.post(busy, f"/api/v1/worklist/{chest.id}/claim"), 409, "assigned_to_another"
        )
        assert api.post(idle, f"/api/v1/worklist/{chest.id}/claim").status_code == 200

    def test_pull_mode_leaves_items_unassigned(
        self, use_database: Database, consortium: Consortium
    ) -> None:
        _, item = add_study(use_database, consortium.clinic_a, description="Chest PA")
        assert item.assigned_to_id is None

    def test_radiologist_cannot_assign_and_target_must_be_a_reader(
        self, api: Api, use_database: Database, consortium: Consortium, other: Consortium
    ) -> None:
        _, item = add_study(use_database, consortium.clinic_a)
        url = f"/api/v1/worklist/{item.id}/assign"
        body = {"user_id": str(consortium.radiologist.user_id)}
        assert_error(api.post(consortium.radiologist, url, body), 403, "forbidden")
        outsider = {"user_id": str(other.radiologist.user_id)}
        assert_error(api.post(consortium.senior_radiologist, url, outsider), 422, "not_a_reader")
        with use_database.factory() as session:
            assert session.get_one(WorklistItem, item.id).assigned_to_id is None

    def test_profile_of_another_consortiums_reader_is_404(
        self, api: Api, consortium: Consortium, other: Consortium
    ) -> None:
        url = f"/api/v1/worklist/readers/{other.radiologist.user_id}"
        response = api.put(consortium.senior_radiologist, url, {"subspecialties": ["chest"]})
        assert_error(response, 404, "reader_not_found")


class TestDueTimes:
    def test_every_item_gets_the_default_due_time_of_its_category(
        self, use_database: Database, consortium: Consortium
    ) -> None:
        study, item = add_study(use_database, consortium.clinic_a)  # routine outpatient CT
        assert item.sla_category == "outpatient_ct_mr"
        assert item.due_at == add_working_time(study.received_at, 240)
        xr, xr_item = add_study(use_database, consortium.clinic_a, modality="DX")
        assert xr_item.due_at == xr.received_at + timedelta(hours=2)

    def test_agreement_overrides_the_default(
        self, api: Api, use_database: Database, consortium: Consortium, other: Consortium
    ) -> None:
        with use_database.factory() as session:
            agreement_id = session.scalars(
                select(ReadingAgreement.id).where(
                    ReadingAgreement.clinic_org_id == consortium.clinic_a.id
                )
            ).one()
        url = f"/api/v1/reading-agreements/{agreement_id}/reading-settings"
        body = {"limits": {"outpatient_ct_mr": {"minutes": 60}}, "sla_warn_minutes": 10}
        assert_error(api.put(consortium.radiologist, url, body), 403, "forbidden")
        assert_error(api.put(other.consortium_admin, url, body), 404, "not_found")
        response = api.put(consortium.consortium_admin, url, body)
        assert response.status_code == 200, response.text
        assert response.json()["limits"]["outpatient_ct_mr"] == {
            "minutes": 60,
            "working_hours": False,
        }
        assert response.json()["limits"]["routine_radiograph"] == {
            "minutes": 120,
            "working_hours": False,
        }
        study, item = add_study(use_database, consortium.clinic_a)
        assert item.due_at == study.received_at + timedelta(minutes=60)
        bad = api.put(consortium.consortium_admin, url, {"limits": {"tomorrow": {"minutes": 60}}})
        assert bad.status_code == 422


def _due(db: Database, item_id: object, delta: timedelta) -> None:
    with db.factory() as session:
        session.execute(
            update(WorklistItem).where(WorklistItem.id == item_id).values(due_at=utc_now() + delta)
        )
        session.commit()


class TestEscalation:
    def test_overdue_item_is_boosted_marked_and_notified_once(
        self, api: Api, use_database: Database, consortium: Consortium
    ) -> None:
        senior = consortium.senior_radiologist
        _, overdue = add_study(use_database, consortium.clinic_a)
        _, soon = add_study(use_database, consortium.clinic_b)
        _due(use_database, overdue.id, -timedelta(minutes=5))
        _due(use_database, soon.id, timedelta(minutes=5))

        for _ in range(2):  # the second run must not repeat anything
            with session_scope(use_database.factory) as session:
                escalation.escalate(session)

        with use_database.factory() as session:
            late = session.get_one(WorklistItem, overdue.id)
            near = session.get_one(WorklistItem, soon.id)
            notes = session.scalars(
                select(Notification).where(Notification.worklist_item_id.in_([overdue.id, soon.id]))
            ).all()
        assert late.priority >= overdue.priority + 300
        assert "overdue" in late.priority_reason
        assert late.breached_at is not None and late.escalated_at is not None
        assert near.breached_at is None and near.escalated_at is not None
        assert near.priority > soon.priority
        kinds = [(n.kind, n.user_id) for n in notes if n.worklist_item_id == overdue.id]
        assert len(kinds) == 2
        assert set(kinds) == {("sla_breached", None), ("sla_breached", senior.user_id)}
        warned = {(n.kind, n.user_id) for n in notes if n.worklist_item_id == soon.id}
        assert warned == {("sla_due_soon", None), ("sla_due_soon", senior.user_id)}
        listed = api.get(consortium.radiologist, "/api/v1/worklist/notifications/mine").json()
        assert {n["worklist_item_id"] for n in listed} >= {str(overdue.id), str(soon.id)}
        assert all(n["user_id"] is None for n in listed)  # the senior's own note is not theirs

    def test_breaches_are_counted_per_clinic_and_per_reader(
        self, api: Api, use_database: Database, consortium: Consortium, other: Consortium
    ) -> None:
        reader = consortium.radiologist
        _, held = add_study(use_database, consortium.clinic_a)
        _, loose = add_study(use_database, consortium.clinic_b)
        assert api.post(reader, f"/api/v1/worklist/{held.id}/claim").status_code == 200
        for item in (held, loose):
            _due(use_database, item.id, -timedelta(minutes=1))
        with session_scope(use_database.factory) as session:
            escalation.escalate(session)

        admin = consortium.consortium_admin
        by_clinic = api.get(admin, "/api/v1/figures/sla-breaches", by="clinic").json()
        assert {(c["key"], c["breaches"]) for c in by_clinic} == {
            (str(consortium.clinic_a.id), 1),
            (str(consortium.clinic_b.id), 1),
        }
        by_reader = api.get(reader, "/api/v1/figures/sla-breaches", by="reader").json()
        assert {(c["key"], c["breaches"]) for c in by_reader} == {
            (str(reader.user_id), 1),
            ("unassigned", 1),
        }
        assert api.get(other.consortium_admin, "/api/v1/figures/sla-breaches").json() == []
        assert_error(
            api.get(consortium.clinic_staff, "/api/v1/figures/sla-breaches"), 403, "forbidden"
        )
        foreign = api.get(admin, "/api/v1/figures/sla-breaches", hospital_id=str(other.hospital.id))
        assert_error(foreign, 404, "not_found")
