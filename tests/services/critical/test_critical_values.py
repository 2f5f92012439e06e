"""Critical values end to end over the API: declare, sign, alert real peers, call log, ack."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import timedelta
from email import message_from_bytes
from email.policy import default

import pytest
from sqlalchemy import select

from services.kit.clock import utc_now
from services.models import AuditEvent, Study
from tests.factories import tenant as tenant_factory
from tests.factories.tenant import Account, Consortium
from tests.fixtures.api_client import Api
from tests.fixtures.databases import Database
from tests.services.critical.helpers import (
    declare,
    new_study,
    queued_alerts,
    run_alert,
    sign,
    write_draft,
)
from tests.services.delivery import peers
from tests.services.delivery.conftest import add_channel

SECRET = "critical-hook-secret-0123456789"


def test_the_list_is_seeded_and_managed_by_admins(api: Api, consortium: Consortium) -> None:
    listed = api.get(consortium.clinic_staff, "/api/v1/critical-values")
    assert listed.status_code == 200
    codes = {row["code"]: row for row in listed.json()}
    assert codes["CV-ICH"]["label_zh"] == "急性颅内出血"
    assert codes["CV-AD"]["snomed_code"] == "308546005"
    body = {"code": "CV-TORSION", "label_zh": "睾丸扭转", "label_en": "Testicular torsion"}
    assert api.post(consortium.radiologist, "/api/v1/critical-values", body).status_code == 403
    created = api.post(consortium.consortium_admin, "/api/v1/critical-values", body)
    assert created.status_code == 201, created.text
    again = api.post(consortium.consortium_admin, "/api/v1/critical-values", body)
    assert again.status_code == 409
    assert again.json()["error"] == "critical_value_exists"
    bad = api.post(consortium.consortium_admin, "/api/v1/critical-values", {**body, "code": "x y"})
    assert bad.status_code == 422


def test_lists_are_per_consortium(api: Api, consortium: Consortium, use_database: Database) -> None:
    other = tenant_factory.build_consortium(use_database.factory)
    body = {"code": "CV-LOCAL", "label_zh": "本地", "label_en": "Local"}
    assert api.post(consortium.consortium_admin, "/api/v1/critical-values", body).status_code == 201
    theirs = api.get(other.clinic_staff, "/api/v1/critical-values").json()
    assert "CV-LOCAL" not in {row["code"] for row in theirs}
    study = new_study(other, use_database)
    write_draft(api, other.radiologist, study)
    refused = api.post(
        other.radiologist, f"/api/v1/studies/{study.id}/critical-results", {"code": "CV-LOCAL"}
    )
    assert refused.status_code == 422
    assert refused.json()["error"] == "unknown_critical_value"
    assert "CV-ICH" in refused.json()["message"]


def test_deactivated_code_cannot_be_declared(
    api: Api, consortium: Consortium, use_database: Database
) -> None:
    admin = consortium.consortium_admin
    assert api.delete(admin, "/api/v1/critical-values/CV-FB").status_code == 200
    study = new_study(consortium, use_database)
    write_draft(api, consortium.radiologist, study)
    url = f"/api/v1/studies/{study.id}/critical-results"
    assert api.post(consortium.radiologist, url, {"code": "CV-FB"}).status_code == 422


def _assert_flagged_on_worklist(api: Api, reader: Account, study: Study) -> None:
    page = api.get(reader, "/api/v1/worklist", view="my_claimed", critical="true").json()
    assert str(study.id) in {row["study_id"] for row in page["items"]}


def test_signing_alerts_the_clinic_over_its_channels(
    api: Api, consortium: Consortium, use_database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    reader = consortium.radiologist
    with peers.http_endpoint(status=200) as hook, peers.smtp_server() as (port, inbox):
        monkeypatch.setenv("RADBRIDGE_DELIVERY__SMTP_PORT", str(port))
        from services.delivery.settings import get_delivery_settings

        get_delivery_settings.cache_clear()
        add_channel(
            api, consortium, {"kind": "webhook", "url": hook.base + "/cv", "secret": SECRET}
        )
        add_channel(api, consortium, {"kind": "email", "to": ["duty@clinic-a.example"]})
        study = new_study(consortium, use_database)
        write_draft(api, reader, study)
        declared = declare(api, reader, study)
        assert declared["status"] == "OPEN"
        _assert_flagged_on_worklist(api, reader, study)
        assert declared["notified_at"] is None  # not before the report is signed
        assert queued_alerts() == []
        assert declare(api, reader, study)["id"] == declared["id"]  # idempotent per code
        sign(api, reader, study)
        ids = queued_alerts()
        assert len(ids) == 2
        assert sorted(run_alert(i)[0] for i in ids) == ["SENT", "SENT"]
        assert len(hook.requests) == 1
        request = hook.requests[0]
        expected = (
            "sha256=" + hmac.new(SECRET.encode(), request["body"], hashlib.sha256).hexdigest()
        )
        assert request["headers"]["X-RadBridge-Signature"] == expected
        payload = json.loads(request["body"])
        assert payload["event"] == "critical_result.notified"
        assert payload["code"] == "CV-ICH"
        assert payload["critical_result_id"] == declared["id"]
        assert study.patient_name not in request["body"].decode()
        assert len(inbox.envelopes) == 1
        mail = message_from_bytes(inbox.envelopes[0].content, policy=default)
        assert "CV-ICH" in str(mail["Subject"])
        assert "危急值" in str(mail["Subject"])
        assert f"/api/v1/critical-results/{declared['id']}/acknowledge" in mail.get_content()
        get_delivery_settings.cache_clear()
    result = api.get(consortium.clinic_staff, f"/api/v1/critical-results/{declared['id']}").json()
    assert result["notified_at"] is not None
    assert result["report_id"] is not None
    assert [a["status"] for a in result["alerts"]] == ["SENT", "SENT"]
    open_list = api.get(consortium.clinic_staff, "/api/v1/critical-results?status=OPEN").json()
    assert [r["id"] for r in open_list] == [declared["id"]]


def test_declared_after_signing_notifies_at_once(
    api: Api, consortium: Consortium, use_database: Database
) -> None:
    study = new_study(consortium, use_database)
    write_draft(api, consortium.radiologist, study)
    sign(api, consortium.radiologist, study)
    declared = declare(api, consortium.radiologist, study, "CV-AD")
    assert declared["notified_at"] is not None
    assert declared["report_id"] is not None


def test_only_the_sending_clinic_acknowledges(
    api: Api, consortium: Consortium, use_database: Database
) -> None:
    study = new_study(consortium, use_database)
    write_draft(api, consortium.radiologist, study)
    declared = declare(api, consortium.radiologist, study)
    sign(api, consortium.radiologist, study)
    url = f"/api/v1/critical-results/{declared['id']}/acknowledge"
    assert api.post(consortium.radiologist, url).status_code == 403
    assert api.post(consortium.account("clinic_b_staff"), url).status_code == 404
    acked = api.post(consortium.clinic_staff, url)
    assert acked.status_code == 200, acked.text
    assert acked.json()["status"] == "ACKNOWLEDGED"
    assert acked.json()["acknowledged_by"]
    first_time = acked.json()["acknowledged_at"]
    assert api.post(consortium.clinic_physician, url).json()["acknowledged_at"] == first_time
    with use_database.factory() as session:
        actions = session.scalars(
            select(AuditEvent.action).where(AuditEvent.object_id == declared["id"])
        ).all()
    assert {"critical.declared", "critical.clinic_notified", "critical.acknowledged"} <= set(
        actions
    )


def test_the_phone_call_is_documented(
    api: Api, consortium: Consortium, use_database: Database
) -> None:
    study = new_study(consortium, use_database)
    write_draft(api, consortium.radiologist, study)
    declared = declare(api, consortium.radiologist, study, "CV-PE")
    url = f"/api/v1/critical-results/{declared['id']}/calls"
    future = (utc_now() + timedelta(hours=1)).isoformat()
    call = {"callee_name": "王医生", "callee_role": "值班医生", "read_back_confirmed": True}
    late = api.post(consortium.radiologist, url, {**call, "called_at": future})
    assert late.status_code == 422
    assert late.json()["error"] == "call_in_the_future"
    assert api.post(consortium.clinic_staff, url, call).status_code == 403
    unconfirmed = api.post(consortium.radiologist, url, {**call, "read_back_confirmed": False})
    assert unconfirmed.json()["call_documented"] is False
    logged = api.post(consortium.radiologist, url, {**call, "callee_phone": "0571-1234567"})
    assert logged.status_code == 201, logged.text
    body = logged.json()
    assert body["call_documented"] is True
    assert [c["callee_name"] for c in body["calls"]] == ["王医生", "王医生"]
    assert body["calls"][1]["caller_name"]
    extra = api.post(consortium.radiologist, url, {**call, "role": "x"})
    assert extra.status_code == 422  # unknown fields are refused


def test_other_consortia_see_nothing(
    api: Api, consortium: Consortium, use_database: Database
) -> None:
    other = tenant_factory.build_consortium(use_database.factory)
    study = new_study(consortium, use_database)
    write_draft(api, consortium.radiologist, study)
    declared = declare(api, consortium.radiologist, study)
    result_url = f"/api/v1/critical-results/{declared['id']}"
    for account in (other.radiologist, other.clinic_staff, other.consortium_admin):
        assert api.get(account, result_url).status_code == 404
        assert api.get(account, "/api/v1/critical-results").json() == []
    assert api.post(other.clinic_staff, result_url + "/acknowledge").status_code == 404
    call = {"callee_name": "x", "read_back_confirmed": True}
    assert api.post(other.radiologist, result_url + "/calls", call).status_code == 404
    study_url = f"/api/v1/studies/{study.id}/critical-results"
    assert api.post(other.radiologist, study_url, {"code": "CV-ICH"}).status_code == 404
    assert api.get(other.radiologist, study_url).status_code == 404
    assert api.get(consortium.account("clinic_b_staff"), result_url).status_code == 404
