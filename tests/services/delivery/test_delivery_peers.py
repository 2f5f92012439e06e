"""Deliveries against real peers the tests start: storescp, MLLP listeners, HTTP and SMTP."""

from __future__ import annotations

import email
import hashlib
import hmac
import json
import subprocess
import uuid
from email.message import Message
from pathlib import Path
from typing import Any

import hl7
import pydicom
import pytest
from sqlalchemy import select

from services.delivery import tasks
from services.kit.settings import get_settings
from services.models import AuditEvent, DeliveryChannel, Study
from services.report.storage import object_store
from tests.factories.tenant import Consortium
from tests.fixtures.api_client import Api
from tests.fixtures.databases import Database
from tests.services.delivery import peers
from tests.services.delivery.conftest import (
    MAX_ATTEMPTS,
    add_channel,
    deliveries,
    post_json,
    queued_deliveries,
    run_until_settled,
    sign_and_render,
)

pytestmark = pytest.mark.integration


def _only(log: list[dict[str, Any]]) -> dict[str, Any]:
    assert len(log) == 1, log
    return log[0]


def _stored_pdf(report_pdf_key: str | None) -> bytes:
    assert report_pdf_key is not None
    return object_store(get_settings()).get(report_pdf_key)


class TestDicom:
    def test_storescp_receives_a_valid_encapsulated_pdf(
        self, api: Api, consortium: Consortium, use_database: Database, tmp_path: Path
    ) -> None:
        with peers.storescp(tmp_path / "pacs") as scp:
            add_channel(
                api,
                consortium,
                {"kind": "dicom", "ae_title": scp.ae_title, "host": "127.0.0.1", "port": scp.port},
            )
            study, report = sign_and_render(api, consortium, use_database)
            [delivery_id] = queued_deliveries()
            assert run_until_settled(delivery_id) == ("DELIVERED", 0)
            [received] = scp.received()
        ds = pydicom.dcmread(received)
        assert ds.SOPClassUID == "1.2.840.10008.5.1.4.1.1.104.1"
        assert ds.StudyInstanceUID == study.study_instance_uid
        assert ds.Modality == "DOC"
        length = int(ds.EncapsulatedDocumentLength)
        assert ds.EncapsulatedDocument[:length] == _stored_pdf(report.pdf_key)
        check = subprocess.run(
            ["/usr/bin/dciodvfy", str(received)], capture_output=True, text=True, check=False
        )
        errors = [line for line in check.stderr.splitlines() if line.startswith("Error")]
        assert errors == [], check.stderr
        entry = _only(deliveries(api, consortium.clinic_staff, study))
        assert entry["status"] == "DELIVERED"
        assert entry["log"][0]["ack_id"] == "C-STORE 0x0000"
        with use_database.factory() as session:
            stored = session.get(Study, study.id)
            assert stored is not None
            assert stored.status == "DELIVERED"

    def test_rerun_of_a_settled_delivery_does_nothing(
        self, api: Api, consortium: Consortium, use_database: Database, tmp_path: Path
    ) -> None:
        with peers.storescp(tmp_path / "pacs") as scp:
            add_channel(
                api,
                consortium,
                {"kind": "dicom", "ae_title": scp.ae_title, "host": "127.0.0.1", "port": scp.port},
            )
            study, _ = sign_and_render(api, consortium, use_database)
            [delivery_id] = queued_deliveries()
            run_until_settled(delivery_id)
            assert tasks.deliver(delivery_id=delivery_id) == "nothing to do"
            assert len(scp.received()) == 1
        assert len(_only(deliveries(api, consortium.clinic_staff, study))["log"]) == 1


class TestHl7:
    def test_ack_aa_delivers_with_the_ack_control_id(
        self, api: Api, consortium: Consortium, use_database: Database
    ) -> None:
        with peers.mllp_listener("AA") as his:
            add_channel(
                api, consortium, {"kind": "hl7_mllp", "host": "127.0.0.1", "port": his.port}
            )
            study, _ = sign_and_render(api, consortium, use_database)
            [delivery_id] = queued_deliveries()
            assert run_until_settled(delivery_id) == ("DELIVERED", 0)
        [message] = his.messages
        parsed = hl7.parse(message)
        assert str(parsed.segment("MSH")[9]) == "ORU^R01^ORU_R01"
        assert str(parsed.segment("OBR")[25]) == "F"
        entry = _only(deliveries(api, consortium.clinic_staff, study))
        attempt = entry["log"][0]
        assert attempt["outcome"] == "delivered"
        assert attempt["ack_id"] == "ACK" + str(parsed.segment("MSH")[10])[-8:]

    def test_nack_ae_is_retried_then_failed_and_logged(
        self, api: Api, consortium: Consortium, use_database: Database
    ) -> None:
        with peers.mllp_listener("AE") as his:
            add_channel(
                api, consortium, {"kind": "hl7_mllp", "host": "127.0.0.1", "port": his.port}
            )
            study, _ = sign_and_render(api, consortium, use_database)
            [delivery_id] = queued_deliveries()
            assert run_until_settled(delivery_id) == ("FAILED", MAX_ATTEMPTS - 1)
        assert len(his.messages) == MAX_ATTEMPTS
        entry = _only(deliveries(api, consortium.clinic_staff, study))
        assert entry["status"] == "FAILED"
        outcomes = [a["outcome"] for a in entry["log"]]
        assert outcomes == ["retry"] * MAX_ATTEMPTS
        assert "AE (NACK): Patient not found in HIS" in str(entry["last_error"])
        # each attempt had its own control id, so the HIS can tell resends apart
        assert len({str(hl7.parse(m).segment("MSH")[10]) for m in his.messages}) == MAX_ATTEMPTS
        with use_database.factory() as session:
            failed = session.scalars(
                select(AuditEvent).where(
                    AuditEvent.action == "delivery.failed", AuditEvent.object_id == entry["id"]
                )
            ).all()
            assert len(failed) == 1

    def test_unreachable_his_is_retried_then_failed_and_nothing_lost(
        self, api: Api, consortium: Consortium, use_database: Database
    ) -> None:
        closed = peers.free_port()
        channel = add_channel(
            api, consortium, {"kind": "hl7_mllp", "host": "127.0.0.1", "port": closed}
        )
        study, _ = sign_and_render(api, consortium, use_database)
        [delivery_id] = queued_deliveries()
        assert run_until_settled(delivery_id) == ("FAILED", MAX_ATTEMPTS - 1)
        entry = _only(deliveries(api, consortium.clinic_staff, study))
        assert len(entry["log"]) == MAX_ATTEMPTS
        assert (
            f"Could not reach the HIS (HL7 MLLP) at 127.0.0.1:{closed}: connection refused"
            in str(entry["last_error"])
        )
        # the HIS comes back: a reader resends and the same delivery goes through
        with peers.mllp_listener("AA") as his:
            url = f"/api/v1/studies/{study.id}/report/deliveries/{channel['id']}/resend"
            with use_database.factory() as session, session.begin():
                row = session.get(DeliveryChannel, uuid.UUID(channel["id"]))
                assert row is not None
                row.config = {"host": "127.0.0.1", "port": his.port}
            response = post_json(api, consortium.radiologist, url, {})
            assert response.status_code == 202, response.text
            [again] = queued_deliveries()
            assert again == delivery_id
            assert run_until_settled(again) == ("DELIVERED", 0)
        entry = _only(deliveries(api, consortium.clinic_staff, study))
        assert [a["number"] for a in entry["log"]] == [1, 2, 3, 4]
        assert entry["status"] == "DELIVERED"


class TestHttp:
    def test_fhir_diagnostic_report_is_posted(
        self, api: Api, consortium: Consortium, use_database: Database
    ) -> None:
        with peers.http_endpoint(201) as fhir:
            add_channel(api, consortium, {"kind": "fhir", "base_url": fhir.base + "/fhir"})
            study, report = sign_and_render(api, consortium, use_database)
            [delivery_id] = queued_deliveries()
            assert run_until_settled(delivery_id) == ("DELIVERED", 0)
        [request] = fhir.requests
        assert request["path"] == "/fhir/DiagnosticReport"
        body = json.loads(request["body"])
        assert body["resourceType"] == "DiagnosticReport"
        assert body["status"] == "final"
        assert body["id"] == str(report.id)
        attempt = _only(deliveries(api, consortium.clinic_staff, study))["log"][0]
        assert attempt["ack_id"] == "HTTP 201"
        assert attempt["detail"].endswith("/DiagnosticReport/42/_history/1")

    def test_fhir_server_error_is_retried_client_error_is_not(
        self, api: Api, consortium: Consortium, use_database: Database
    ) -> None:
        with peers.http_endpoint(503) as fhir:
            add_channel(api, consortium, {"kind": "fhir", "base_url": fhir.base})
            sign_and_render(api, consortium, use_database)
            [delivery_id] = queued_deliveries()
            assert run_until_settled(delivery_id) == ("FAILED", MAX_ATTEMPTS - 1)
            assert len(fhir.requests) == MAX_ATTEMPTS
        with peers.http_endpoint(400) as fhir:
            add_channel(api, consortium, {"kind": "fhir", "base_url": fhir.base})
            sign_and_render(api, consortium, use_database)
            ids = queued_deliveries()
            statuses = [run_until_settled(d) for d in ids]
            assert ("FAILED", 0) in statuses  # the 400 channel: no retry

    def test_webhook_body_carries_a_valid_hmac(
        self, api: Api, consortium: Consortium, use_database: Database
    ) -> None:
        secret = "webhook-secret-0123456789"
        with peers.http_endpoint(204) as hook:
            add_channel(
                api, consortium, {"kind": "webhook", "url": hook.base + "/hook", "secret": secret}
            )
            study, report = sign_and_render(api, consortium, use_database)
            [delivery_id] = queued_deliveries()
            assert run_until_settled(delivery_id) == ("DELIVERED", 0)
        [request] = hook.requests
        expected = (
            "sha256=" + hmac.new(secret.encode(), request["body"], hashlib.sha256).hexdigest()
        )
        assert hmac.compare_digest(request["headers"]["X-RadBridge-Signature"], expected)
        body = json.loads(request["body"])
        assert body["report_id"] == str(report.id)
        assert body["study_id"] == str(study.id)
        assert body["status"] == "final"
        assert body["pdf_sha256"] == report.pdf_sha256
        assert "patient" not in json.dumps(body).lower()


class TestEmail:
    def test_email_carries_the_signed_pdf(
        self,
        api: Api,
        consortium: Consortium,
        use_database: Database,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        from services.delivery.settings import get_delivery_settings

        with peers.smtp_server() as (port, inbox):
            monkeypatch.setenv("RADBRIDGE_DELIVERY__SMTP_PORT", str(port))
            get_delivery_settings.cache_clear()
            add_channel(api, consortium, {"kind": "email", "to": ["reports@clinic-a.example.cn"]})
            study, report = sign_and_render(api, consortium, use_database)
            [delivery_id] = queued_deliveries()
            settled = run_until_settled(delivery_id)
            assert settled == ("DELIVERED", 0), deliveries(api, consortium.clinic_staff, study)[0][
                "last_error"
            ]
        [envelope] = inbox.envelopes
        assert envelope.rcpt_tos == ["reports@clinic-a.example.cn"]
        message: Message = email.message_from_bytes(envelope.content)
        [pdf_part] = [p for p in message.walk() if p.get_content_type() == "application/pdf"]
        assert pdf_part.get_payload(decode=True) == _stored_pdf(report.pdf_key)
        attempt = _only(deliveries(api, consortium.clinic_staff, study))["log"][0]
        assert "queued as RB42" in attempt["ack_id"]
