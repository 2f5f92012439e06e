"""Channel administration, the delivery log's access rules, resends, and the SSRF guard."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from services.delivery.settings import get_delivery_settings
from services.models import AuditEvent
from tests.factories import tenant as tenant_factory
from tests.factories.tenant import Consortium
from tests.fixtures.api_client import Api
from tests.fixtures.databases import Database
from tests.services.delivery import peers
from tests.services.delivery.conftest import (
    add_channel,
    delete,
    deliveries,
    post_json,
    queued_deliveries,
    run_until_settled,
    sign_and_render,
)

pytestmark = pytest.mark.integration


def _url(consortium: Consortium) -> str:
    return f"/api/v1/organizations/{consortium.clinic_a.id}/delivery-channels"


class TestChannelAdmin:
    def test_admin_creates_lists_and_deletes_without_revealing_secrets(
        self, api: Api, consortium: Consortium
    ) -> None:
        created = add_channel(
            api,
            consortium,
            {
                "kind": "webhook",
                "name": "HIS hook",
                "url": "http://127.0.0.1:9/x",
                "secret": "s" * 20,
            },
        )
        assert created["has_secret"] is True
        assert "secret" not in created["config"]
        listed = api.get(consortium.consortium_admin, _url(consortium)).json()
        assert [c["id"] for c in listed] == [created["id"]]
        gone = delete(api, consortium.consortium_admin, f"{_url(consortium)}/{created['id']}")
        assert gone.status_code == 204
        assert api.get(consortium.consortium_admin, _url(consortium)).json() == []

    @pytest.mark.parametrize("who", ["clinic_staff", "radiologist"])
    def test_other_roles_are_forbidden(self, api: Api, consortium: Consortium, who: str) -> None:
        account = consortium.account(who)
        assert api.get(account, _url(consortium)).status_code == 403
        body = {"kind": "portal"}
        assert post_json(api, account, _url(consortium), body).status_code == 403

    def test_other_consortium_gets_404(
        self, api: Api, consortium: Consortium, use_database: Database
    ) -> None:
        created = add_channel(api, consortium, {"kind": "portal"})
        other = tenant_factory.build_consortium(use_database.factory)
        admin = other.consortium_admin
        assert api.get(admin, _url(consortium)).status_code == 404
        assert post_json(api, admin, _url(consortium), {"kind": "portal"}).status_code == 404
        assert delete(api, admin, f"{_url(consortium)}/{created['id']}").status_code == 404
        own_org = f"/api/v1/organizations/{other.clinic_a.id}/delivery-channels"
        assert delete(api, admin, f"{own_org}/{created['id']}").status_code == 404

    @pytest.mark.parametrize(
        ("body", "fragment"),
        [
            ({"kind": "fhir", "base_url": "file:///etc/passwd"}, "Only http:// and https://"),
            ({"kind": "fhir", "base_url": "gopher://example.com/"}, "Only http:// and https://"),
            ({"kind": "fhir", "base_url": "http://169.254.169.254/latest"}, "not allowed"),
            (
                {"kind": "webhook", "url": "http://127.0.0.1:8042/tools", "secret": "s" * 20},
                "internal",
            ),
            ({"kind": "hl7_mllp", "host": "localhost", "port": 2575}, "internal"),
            ({"kind": "dicom", "ae_title": "PACS", "host": "10.1.2.3", "port": 104}, "internal"),
            ({"kind": "fhir", "base_url": "http://[::1]:8080/fhir"}, "internal"),
        ],
    )
    def test_ssrf_guard_rejects_internal_targets(
        self,
        api: Api,
        consortium: Consortium,
        monkeypatch: pytest.MonkeyPatch,
        body: dict[str, object],
        fragment: str,
    ) -> None:
        monkeypatch.setenv("RADBRIDGE_DELIVERY__ALLOW_PRIVATE_NETWORK", "false")
        get_delivery_settings.cache_clear()
        response = post_json(api, consortium.consortium_admin, _url(consortium), body)
        assert response.status_code == 422, response.text
        assert response.json()["error"] == "unsafe_destination"
        assert fragment in response.json()["message"]

    @pytest.mark.parametrize(
        "body",
        [
            {"kind": "telnet", "host": "x"},
            {"kind": "dicom", "ae_title": "A" * 17, "host": "pacs.example.cn", "port": 104},
            {"kind": "hl7_mllp", "host": "his.example.cn", "port": 70000},
            {"kind": "email", "to": ["not-an-address"]},
            {"kind": "webhook", "url": "https://hooks.example.cn/x", "secret": "short"},
            {"kind": "portal", "tenant_id": str(uuid.uuid4())},
        ],
    )
    def test_bad_configuration_is_refused_clearly(
        self, api: Api, consortium: Consortium, body: dict[str, object]
    ) -> None:
        response = post_json(api, consortium.consortium_admin, _url(consortium), body)
        assert response.status_code == 422, response.text
        assert response.json()["message"]


class TestLogAccessAndResend:
    def test_log_visible_to_clinic_and_readers_not_to_other_tenants(
        self, api: Api, consortium: Consortium, use_database: Database
    ) -> None:
        add_channel(api, consortium, {"kind": "portal"})
        study, _ = sign_and_render(api, consortium, use_database)
        assert queued_deliveries() == []  # portal: nothing to send
        for account in (
            consortium.clinic_staff,
            consortium.radiologist,
            consortium.consortium_admin,
        ):
            [entry] = deliveries(api, account, study)
            assert entry["status"] == "DELIVERED"
            assert entry["log"][0]["ack_id"] == "portal"
        assert (
            api.get(
                consortium.clinic_b_staff, f"/api/v1/studies/{study.id}/report/deliveries"
            ).status_code
            == 404
        )
        other = tenant_factory.build_consortium(use_database.factory)
        url = f"/api/v1/studies/{study.id}/report/deliveries"
        assert api.get(other.clinic_staff, url).status_code == 404
        assert api.get(other.radiologist, url).status_code == 404

    def test_resend_roles_cross_tenant_and_audit(
        self, api: Api, consortium: Consortium, use_database: Database
    ) -> None:
        with peers.mllp_listener("AA") as his:
            channel = add_channel(
                api, consortium, {"kind": "hl7_mllp", "host": "127.0.0.1", "port": his.port}
            )
            study, _ = sign_and_render(api, consortium, use_database)
            [first] = queued_deliveries()
            url = f"/api/v1/studies/{study.id}/report/deliveries/{channel['id']}/resend"
            busy = post_json(api, consortium.consortium_admin, url, {})
            assert busy.status_code == 409, busy.text  # still queued
            run_until_settled(first)
            assert post_json(api, consortium.clinic_staff, url, {}).status_code == 403
            other = tenant_factory.build_consortium(use_database.factory)
            assert post_json(api, other.radiologist, url, {}).status_code == 404
            unknown = f"/api/v1/studies/{study.id}/report/deliveries/{uuid.uuid4()}/resend"
            assert post_json(api, consortium.radiologist, unknown, {}).status_code == 404
            response = post_json(api, consortium.consortium_admin, url, {})
            assert response.status_code == 202, response.text
            assert response.json()["status"] == "PENDING"
            [again] = queued_deliveries()
            assert run_until_settled(again) == ("DELIVERED", 0)
            assert len(his.messages) == 2
        with use_database.factory() as session:
            audits = session.scalars(
                select(AuditEvent).where(
                    AuditEvent.action == "delivery.resend", AuditEvent.study_id == study.id
                )
            ).all()
            assert [a.actor for a in audits] == [f"user:{consortium.consortium_admin.user_id}"]

    def test_deleted_channel_is_not_used_and_logged(
        self, api: Api, consortium: Consortium, use_database: Database
    ) -> None:
        channel = add_channel(api, consortium, {"kind": "hl7_mllp", "host": "127.0.0.1", "port": 9})
        study, _ = sign_and_render(api, consortium, use_database)
        [delivery_id] = queued_deliveries()
        delete(api, consortium.consortium_admin, f"{_url(consortium)}/{channel['id']}")
        assert run_until_settled(delivery_id) == ("nothing to do", 0)
        [entry] = deliveries(api, consortium.clinic_staff, study)
        assert entry["status"] == "FAILED"
        assert "channel was deleted" in entry["last_error"]
