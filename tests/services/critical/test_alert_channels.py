"""Critical alerts over the clinic's HL7 (MLLP) and FHIR channels, against real peers."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

import hl7
import pytest
from fhir.resources.R4B.communication import Communication
from sqlalchemy import select

from services.critical import escalation
from services.critical.alert_messages import AlertFacts, build_critical_oru
from services.kit.clock import utc_now
from services.kit.db import session_scope
from services.models import CriticalAlert, Report, Study
from tests.factories.tenant import Consortium
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

pytestmark = pytest.mark.integration


def _result(api: Api, consortium: Consortium, result_id: str) -> dict[str, Any]:
    response = api.get(consortium.clinic_staff, f"/api/v1/critical-results/{result_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _obx(message: hl7.Message) -> list[hl7.Segment]:
    return list(message.segments("OBX"))


class TestHl7AndFhirAlerts:
    def test_signed_critical_report_alerts_over_hl7_and_fhir_and_is_acknowledged(
        self, api: Api, consortium: Consortium, use_database: Database
    ) -> None:
        reader = consortium.radiologist
        with peers.mllp_listener("AA") as his, peers.http_endpoint(201) as fhir:
            hl7_channel = add_channel(
                api,
                consortium,
                {
                    "kind": "hl7_mllp",
                    "host": "127.0.0.1",
                    "port": his.port,
                    "charset": "GB 18030-2000",
                },
            )
            fhir_channel = add_channel(
                api, consortium, {"kind": "fhir", "base_url": fhir.base + "/fhir"}
            )
            study = new_study(consortium, use_database)
            write_draft(api, reader, study)
            declared = declare(api, reader, study)
            assert queued_alerts() == []  # not before signing
            sign(api, reader, study)
            ids = queued_alerts()
            assert len(ids) == 2
            assert sorted(run_alert(i)[0] for i in ids) == ["SENT", "SENT"]

        message = _check_hl7(his.raw, study, declared["id"])
        _check_fhir(fhir.requests, study, ids, use_database)
        _check_acknowledgement(
            api,
            consortium,
            use_database=use_database,
            result_id=declared["id"],
            message=message,
            hl7_channel=hl7_channel,
            fhir_channel=fhir_channel,
        )


def _check_hl7(raws: list[bytes], study: Study, result_id: str) -> hl7.Message:
    """An ORU^R01 flagged critical (OBX-8 AA), final (the report is signed), no patient name."""
    [raw] = raws
    message = hl7.parse(raw, encoding="gb18030")
    assert str(message.segment("MSH")[9]) == "ORU^R01^ORU_R01"
    assert str(message.segment("MSH")[18]) == "GB 18030-2000"
    assert str(message.segment("OBR")[3]) == (study.accession_number or study.study_instance_uid)
    assert str(message.segment("OBR")[25]) == "F"
    coded, notice = _obx(message)
    assert str(coded[2]) == "CWE"
    assert str(coded[5][0][0]) == "CV-ICH"
    assert str(coded[5][0][1]) == "Acute intracranial haemorrhage / 急性颅内出血"
    for obx in (coded, notice):
        assert str(obx[8]) == "AA"
        assert str(obx[11]) == "F"
    assert f"/api/v1/critical-results/{result_id}/acknowledge" in str(notice[5])
    assert str(message.segment("PID")[3][0][0]) == study.patient_id
    family = study.patient_name.split("^", 1)[0]
    assert family not in raw.decode("gb18030")  # alerts never carry the patient's name
    return message


def _check_fhir(
    requests: list[dict[str, Any]], study: Study, alert_ids: list[str], db: Database
) -> None:
    """A Communication (alert, stat) about the study and the signed report."""
    [request] = requests
    assert request["path"] == "/fhir/Communication"
    body = json.loads(request["body"])
    resource = Communication.model_validate(body)
    assert resource.status == "completed"
    assert resource.priority == "stat"
    assert resource.category is not None and resource.category[0].coding is not None
    assert resource.category[0].coding[0].code == "alert"
    assert resource.reasonCode is not None and resource.reasonCode[0].coding is not None
    assert resource.reasonCode[0].coding[0].code == "CV-ICH"
    assert resource.about is not None
    about = {}
    for reference in resource.about:
        assert reference.identifier is not None
        about[reference.type] = reference.identifier.value
    with db.factory() as session:
        report = session.scalars(select(Report).where(Report.study_id == study.id)).one()
    assert about["DiagnosticReport"] == str(report.id)
    assert about["ImagingStudy"] == f"urn:oid:{study.study_instance_uid}"
    assert resource.identifier is not None
    alert_id = resource.identifier[0].value
    assert alert_id is not None and alert_id in alert_ids
    assert study.patient_name.split("^", 1)[0] not in request["body"].decode()


def _check_acknowledgement(
    api: Api,
    consortium: Consortium,
    *,
    use_database: Database,
    result_id: str,
    message: hl7.Message,
    hl7_channel: dict[str, Any],
    fhir_channel: dict[str, Any],
) -> None:
    """The peers' ACKs are kept; the clinic's acknowledgement stops reminders on these channels."""
    alerts = {a["channel_id"]: a for a in _result(api, consortium, result_id)["alerts"]}
    hl7_ack = "ACK" + str(message.segment("MSH")[10])[-8:]
    assert alerts[hl7_channel["id"]]["ack_id"] == hl7_ack
    assert alerts[fhir_channel["id"]]["ack_id"] == "HTTP 201"
    assert {a["status"] for a in alerts.values()} == {"SENT"}
    start = utc_now()
    with session_scope(use_database.factory) as session:
        swept = escalation.sweep(
            session, tenant_id=consortium.tenant_id, now=start + timedelta(minutes=11)
        )
    assert swept.escalated == 1
    reminders = queued_alerts()
    with use_database.factory() as session:
        kinds = {
            session.get(CriticalAlert, uuid.UUID(i)).level  # type: ignore[union-attr]
            for i in reminders
        }
    assert len(reminders) == 2
    assert kinds == {1}
    url = f"/api/v1/critical-results/{result_id}/acknowledge"
    acked = api.post(consortium.clinic_staff, url)
    assert acked.status_code == 200, acked.text
    assert acked.json()["status"] == "ACKNOWLEDGED"
    # a reminder queued before the acknowledgement is not sent after it
    assert sorted(run_alert(i)[0] for i in reminders) == ["nothing to do", "nothing to do"]
    with session_scope(use_database.factory) as session:
        swept = escalation.sweep(
            session, tenant_id=consortium.tenant_id, now=start + timedelta(minutes=60)
        )
    assert swept.escalated == 0
    assert queued_alerts() == []


class TestAlertStatus:
    def test_alert_without_a_signed_report_is_preliminary(self) -> None:
        """A critical AI finding is alerted before any report is signed: status P."""
        facts = AlertFacts(
            alert_id=str(uuid.uuid4()),
            critical_result_id=str(uuid.uuid4()),
            attempt=1,
            level=0,
            code="CV-PTX",
            label_zh="张力性气胸",
            label_en="Tension pneumothorax",
            declared_at=utc_now(),
            report_id=None,
            report_status=None,
            study_instance_uid="1.2.3",
            accession_number="A1",
            modality="CR",
            study_description="Chest",
            patient_id="P1",
            patient_id_issuer="CLINIC",
            hospital_code="H",
            clinic_code="C",
            text="危急值 Critical result CV-PTX",
        )
        parsed = hl7.parse(build_critical_oru(facts, now=utc_now()))
        assert str(parsed.segment("OBR")[25]) == "P"
        assert {str(obx[8]) for obx in parsed.segments("OBX")} == {"AA"}
        assert {str(obx[11]) for obx in parsed.segments("OBX")} == {"P"}
