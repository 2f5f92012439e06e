"""HL7 character sets: GB 18030 on the wire to a real MLLP listener and in the download."""

from __future__ import annotations

import uuid

import hl7
import pytest

from services.kit.db import session_scope
from services.kit.settings import get_settings
from services.models import Study
from services.report.rendering import render_and_store
from tests.factories import study as study_factory
from tests.factories.tenant import Consortium
from tests.fixtures.api_client import Api
from tests.fixtures.databases import Database
from tests.services.delivery import peers
from tests.services.delivery.conftest import (
    add_channel,
    deliveries,
    post_json,
    queued_deliveries,
    run_until_settled,
)
from tests.services.test_api_flow import _claim

pytestmark = pytest.mark.integration

FINDINGS = "右肺上叶见磨玻璃结节，直径约 8 mm。"
IMPRESSION = "右肺上叶磨玻璃结节，建议随访。"


def _sign_chinese(api: Api, consortium: Consortium, db: Database) -> Study:
    with session_scope(db.factory) as session:
        study, _ = study_factory.register_study(session, clinic=consortium.clinic_a)
    reader = consortium.radiologist
    assert _claim(api, reader, study).status_code == 200
    draft = {"findings": FINDINGS, "impression": IMPRESSION, "language": "zh-CN"}
    url = f"/api/v1/studies/{study.id}/report"
    assert api.put(reader, f"{url}/draft", draft).status_code == 200
    response = api.post(reader, f"{url}/sign")
    assert response.status_code == 200, response.text
    with session_scope(db.factory) as session:
        assert render_and_store(session, get_settings(), report_id=uuid.UUID(response.json()["id"]))
    return study


def _obx_text(message: hl7.Message) -> str:
    return "\n".join(str(obx[5]) for obx in message.segments("OBX") if str(obx[2]) == "TX")


class TestGb18030OverMllp:
    def test_listener_receives_gb18030_bytes_declared_in_msh18(
        self, api: Api, consortium: Consortium, use_database: Database
    ) -> None:
        with peers.mllp_listener("AA") as his:
            channel = add_channel(
                api,
                consortium,
                {
                    "kind": "hl7_mllp",
                    "host": "127.0.0.1",
                    "port": his.port,
                    "charset": "GB 18030-2000",
                },
            )
            assert channel["config"]["charset"] == "GB 18030-2000"
            study = _sign_chinese(api, consortium, use_database)
            [delivery_id] = queued_deliveries()
            assert run_until_settled(delivery_id) == ("DELIVERED", 0)
        [raw] = his.raw
        assert FINDINGS.encode("gb18030") in raw
        assert FINDINGS.encode("utf-8") not in raw
        with pytest.raises(UnicodeDecodeError):
            raw.decode("utf-8")
        parsed = hl7.parse(raw, encoding="gb18030")
        assert str(parsed.segment("MSH")[18]) == "GB 18030-2000"
        assert FINDINGS in _obx_text(parsed)
        assert IMPRESSION in _obx_text(parsed)
        [entry] = deliveries(api, consortium.clinic_staff, study)
        assert entry["status"] == "DELIVERED"
        assert entry["log"][0]["ack_id"] == "ACK" + str(parsed.segment("MSH")[10])[-8:]

    def test_default_channel_sends_utf8(
        self, api: Api, consortium: Consortium, use_database: Database
    ) -> None:
        with peers.mllp_listener("AA") as his:
            add_channel(
                api, consortium, {"kind": "hl7_mllp", "host": "127.0.0.1", "port": his.port}
            )
            _sign_chinese(api, consortium, use_database)
            [delivery_id] = queued_deliveries()
            assert run_until_settled(delivery_id) == ("DELIVERED", 0)
        [raw] = his.raw
        parsed = hl7.parse(raw.decode("utf-8"))
        assert str(parsed.segment("MSH")[18]) == "UNICODE UTF-8"
        assert FINDINGS in _obx_text(parsed)

    @pytest.mark.parametrize("charset", ["GB2312", "gb 18030-2000", "UTF-16", ""])
    def test_unknown_charset_is_refused(
        self, api: Api, consortium: Consortium, use_database: Database, charset: str
    ) -> None:
        url = f"/api/v1/organizations/{consortium.clinic_a.id}/delivery-channels"
        body = {"kind": "hl7_mllp", "host": "127.0.0.1", "port": 2575, "charset": charset}
        response = post_json(api, consortium.consortium_admin, url, body)
        assert response.status_code == 422, response.text


class TestGb18030Download:
    def test_download_in_gb18030(
        self, api: Api, consortium: Consortium, use_database: Database
    ) -> None:
        study = _sign_chinese(api, consortium, use_database)
        url = f"/api/v1/studies/{study.id}/report/hl7"
        response = api.get(consortium.clinic_staff, url, charset="GB 18030-2000")
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].endswith("charset=gb18030")
        assert FINDINGS.encode("gb18030") in response.content
        parsed = hl7.parse(response.content, encoding="gb18030")
        assert str(parsed.segment("MSH")[18]) == "GB 18030-2000"
        assert IMPRESSION in _obx_text(parsed)

    def test_download_defaults_to_utf8(
        self, api: Api, consortium: Consortium, use_database: Database
    ) -> None:
        study = _sign_chinese(api, consortium, use_database)
        response = api.get(consortium.clinic_staff, f"/api/v1/studies/{study.id}/report/hl7")
        assert response.status_code == 200
        parsed = hl7.parse(response.content.decode("utf-8"))
        assert str(parsed.segment("MSH")[18]) == "UNICODE UTF-8"
        assert FINDINGS in _obx_text(parsed)

    def test_download_with_unknown_charset_is_422(
        self, api: Api, consortium: Consortium, use_database: Database
    ) -> None:
        study = _sign_chinese(api, consortium, use_database)
        url = f"/api/v1/studies/{study.id}/report/hl7"
        response = api.get(consortium.clinic_staff, url, charset="BIG5")
        assert response.status_code == 422
