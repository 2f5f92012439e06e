"""The escalation sweep against a real database: reminders, reading-side notices, AI opt-in."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import select

from services.critical import escalation, service
from services.kit.clock import utc_now
from services.kit.db import session_scope
from services.models import CriticalResult, Notification, Tenant
from tests.factories.tenant import Consortium
from tests.fixtures.api_client import Api
from tests.fixtures.databases import Database
from tests.services.critical.helpers import declare, new_study, queued_alerts, sign, write_draft
from tests.services.delivery.conftest import add_channel


def _signed_critical(api: Api, consortium: Consortium, db: Database) -> uuid.UUID:
    study = new_study(consortium, db)
    write_draft(api, consortium.radiologist, study)
    declared = declare(api, consortium.radiologist, study)
    sign(api, consortium.radiologist, study)
    return uuid.UUID(declared["id"])


def _notices(db: Database, kind: str, consortium: Consortium) -> list[Notification]:
    query = select(Notification).where(
        Notification.kind == kind, Notification.tenant_id == consortium.tenant_id
    )
    with db.factory() as session:
        return list(session.scalars(query))


def test_unacknowledged_results_escalate_until_acknowledged(
    api: Api, consortium: Consortium, use_database: Database
) -> None:
    add_channel(
        api, consortium, {"kind": "webhook", "url": "http://127.0.0.1:9/x", "secret": "s" * 24}
    )
    result_id = _signed_critical(api, consortium, use_database)
    assert len(queued_alerts()) == 1
    consortium.senior_radiologist  # noqa: B018 - the senior exists before the sweep
    start = utc_now()
    with session_scope(use_database.factory) as session:
        assert (
            escalation.sweep(
                session, tenant_id=consortium.tenant_id, now=start + timedelta(minutes=5)
            ).escalated
            == 0
        )
    with session_scope(use_database.factory) as session:
        assert (
            escalation.sweep(
                session, tenant_id=consortium.tenant_id, now=start + timedelta(minutes=11)
            ).escalated
            == 1
        )
    assert len(queued_alerts()) == 1  # the clinic's channel is alerted again
    with session_scope(use_database.factory) as session:  # within the new window: quiet
        assert (
            escalation.sweep(
                session, tenant_id=consortium.tenant_id, now=start + timedelta(minutes=15)
            ).escalated
            == 0
        )
    readers = _notices(use_database, "critical_unacknowledged", consortium)
    assert {n.recipient_org_id for n in readers} == {consortium.hospital.id}
    assert {n.user_id for n in readers} == {None, consortium.senior_radiologist.user_id}
    clinic = _notices(use_database, "critical_result", consortium)
    assert {n.recipient_org_id for n in clinic} == {consortium.clinic_a.id}
    assert len(clinic) == 2
    assert any(n.message.startswith("[reminder 1]") for n in clinic)
    url = f"/api/v1/critical-results/{result_id}/acknowledge"
    assert api.post(consortium.clinic_staff, url).status_code == 200
    with session_scope(use_database.factory) as session:
        assert (
            escalation.sweep(
                session, tenant_id=consortium.tenant_id, now=start + timedelta(minutes=60)
            ).escalated
            == 0
        )


def test_after_the_last_reminder_only_readers_are_told(
    api: Api, consortium: Consortium, use_database: Database
) -> None:
    add_channel(
        api, consortium, {"kind": "webhook", "url": "http://127.0.0.1:9/x", "secret": "s" * 24}
    )
    result_id = _signed_critical(api, consortium, use_database)
    queued_alerts()
    moment = utc_now()
    for _ in range(5):
        moment += timedelta(minutes=11)
        with session_scope(use_database.factory) as session:
            assert (
                escalation.sweep(session, tenant_id=consortium.tenant_id, now=moment).escalated == 1
            )
    assert len(queued_alerts()) == 3  # max_escalations: three reminders to the clinic
    with use_database.factory() as session:
        result = session.get(CriticalResult, result_id)
        assert result is not None
        assert result.escalation_level == 5
    assert len(_notices(use_database, "critical_unacknowledged", consortium)) >= 5


def test_a_missing_phone_log_is_chased_once(
    api: Api, consortium: Consortium, use_database: Database
) -> None:
    result_id = _signed_critical(api, consortium, use_database)
    later = utc_now() + timedelta(minutes=16)
    with session_scope(use_database.factory) as session:
        assert (
            escalation.sweep(session, tenant_id=consortium.tenant_id, now=utc_now()).calls_overdue
            == 0
        )
    with session_scope(use_database.factory) as session:
        assert (
            escalation.sweep(session, tenant_id=consortium.tenant_id, now=later).calls_overdue == 1
        )
    with session_scope(use_database.factory) as session:
        assert (
            escalation.sweep(
                session, tenant_id=consortium.tenant_id, now=later + timedelta(minutes=30)
            ).calls_overdue
            == 0
        )
    chased = _notices(use_database, "critical_call_missing", consortium)
    assert consortium.radiologist.user_id in {n.user_id for n in chased}  # the author
    assert all(n.recipient_org_id == consortium.hospital.id for n in chased)
    other = _signed_critical(api, consortium, use_database)
    call = {"callee_name": "李护士", "read_back_confirmed": True}
    logged = api.post(consortium.radiologist, f"/api/v1/critical-results/{other}/calls", call)
    assert logged.status_code == 201
    with session_scope(use_database.factory) as session:
        assert (
            escalation.sweep(session, tenant_id=consortium.tenant_id, now=later).calls_overdue == 0
        )
    assert result_id != other


def test_ai_findings_notify_only_when_the_consortium_opts_in(
    api: Api, consortium: Consortium, use_database: Database
) -> None:
    study = new_study(consortium, use_database)
    with session_scope(use_database.factory) as session:
        quiet = service.declare(session, study=study, code="CV-PTX", actor="model:x", source="AI")
        assert quiet.notified_at is None
        tenant = session.get(Tenant, consortium.tenant_id)
        assert tenant is not None
        tenant.settings = {**tenant.settings, "critical_values": {"notify_ai_findings": True}}
    with session_scope(use_database.factory) as session:
        loud = service.declare(session, study=study, code="CV-AD", actor="model:x", source="AI")
        assert loud.notified_at is not None


def test_critical_ai_findings_on_the_list_are_declared(
    api: Api, consortium: Consortium, use_database: Database
) -> None:
    study = new_study(consortium, use_database)
    with session_scope(use_database.factory) as session:
        found = service.on_ai_findings(
            session,
            study_id=study.id,
            model="chest-triage:1",
            codes=[("36118008", "critical"), ("59282003", "significant"), ("999", "critical")],
        )
        assert [(r.code, r.source, r.notified_at) for r in found] == [("CV-PTX", "AI", None)]
    page = api.get(consortium.radiologist, "/api/v1/worklist", critical="true").json()
    row = next(r for r in page["items"] if r["study_id"] == str(study.id))
    assert row["critical_source"] == "ai"
