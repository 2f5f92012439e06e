"""Signed reports never change: corrections and addenda are new versions, all kept and shown."""

from __future__ import annotations

import base64
import uuid
from typing import Any

import hl7
from sqlalchemy import select

from services.kit.db import session_scope
from services.kit.settings import get_settings
from services.models import Report, Study
from services.report.rendering import render_and_store
from tests.factories import tenant as tenant_factory
from tests.factories.tenant import Consortium
from tests.fixtures.api_client import Api
from tests.fixtures.databases import Database
from tests.services.report_workflow.steps import assert_error, report_url
from tests.services.test_api_flow import _sign

CORRECTION = {"kind": "correction", "reason": "Wrong side: the nodule is in the LEFT lung."}


def _signed(api: Api, consortium: Consortium, study: Study) -> dict[str, Any]:
    response = _sign(api, consortium.radiologist, study)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _amend(api: Api, consortium: Consortium, study: Study, body: dict[str, Any]) -> dict[str, Any]:
    opened = api.post(consortium.radiologist, report_url(study, "/amendments"), body)
    assert opened.status_code == 201, opened.text
    draft = {"findings": "Nodule in the left upper lobe.", "impression": "Left lung nodule."}
    saved = api.put(consortium.radiologist, report_url(study, "/draft"), draft)
    assert saved.status_code == 200, saved.text
    signed = api.post(consortium.radiologist, report_url(study, "/sign"))
    assert signed.status_code == 200, signed.text
    result: dict[str, Any] = signed.json()
    return result


class TestSignedIsImmutable:
    def test_editing_a_signed_report_is_409_and_nothing_changes(
        self, api: Api, consortium: Consortium, study: Study
    ) -> None:
        signed = _signed(api, consortium, study)

        edit = api.put(
            consortium.radiologist,
            report_url(study, "/draft"),
            {"findings": "changed", "impression": "changed"},
        )

        assert_error(edit, 409, "report_already_signed")
        now = api.get(consortium.clinic_staff, report_url(study)).json()
        assert (now["findings"], now["content_sha256"]) == (
            signed["findings"],
            signed["content_sha256"],
        )


class TestAmendments:
    def test_a_correction_is_a_new_version_with_its_reason(
        self, api: Api, consortium: Consortium, study: Study
    ) -> None:
        first = _signed(api, consortium, study)

        corrected = _amend(api, consortium, study, CORRECTION)

        assert (corrected["version"], corrected["status"], corrected["hl7_status"]) == (
            2,
            "CORRECTED",
            "C",
        )
        assert corrected["fhir_status"] == "corrected"
        assert (corrected["kind"], corrected["reason"]) == ("correction", CORRECTION["reason"])
        assert corrected["previous_id"] == first["id"]
        history = api.get(consortium.clinic_staff, report_url(study, "/versions")).json()
        assert [(v["version"], v["status"]) for v in history] == [(1, "FINAL"), (2, "CORRECTED")]
        detail = api.get(consortium.clinic_staff, report_url(study, "/versions/1")).json()
        assert detail["findings"] == first["findings"]
        assert base64.b64decode(detail["content_signature"])[:2] == b"\x30\x82"
        study_detail = api.get(consortium.clinic_staff, f"/api/v1/studies/{study.id}").json()
        assert study_detail["status"] == "AMENDED"

    def test_an_addendum_is_appended_and_goes_out_as_a(
        self, api: Api, consortium: Consortium, study: Study, use_database: Database
    ) -> None:
        _signed(api, consortium, study)

        added = _amend(api, consortium, study, {"kind": "addendum", "reason": "Prior CT compared."})
        with session_scope(use_database.factory) as session:
            render_and_store(session, get_settings(), report_id=uuid.UUID(added["id"]))

        assert (added["status"], added["hl7_status"], added["fhir_status"]) == (
            "APPENDED",
            "A",
            "appended",
        )
        message = hl7.parse(api.get(consortium.clinic_staff, report_url(study, "/hl7")).text)
        assert str(message.segment("OBR")[25]) == "A"
        fhir = api.get(consortium.clinic_staff, report_url(study, "/fhir")).json()
        assert fhir["status"] == "appended"

    def test_every_version_verifies_on_its_own(
        self, api: Api, consortium: Consortium, study: Study, use_database: Database
    ) -> None:
        first = _signed(api, consortium, study)
        second = _amend(api, consortium, study, CORRECTION)
        with session_scope(use_database.factory) as session:
            for report_id in (first["id"], second["id"]):
                render_and_store(session, get_settings(), report_id=uuid.UUID(report_id))

        checks = [
            api.get(consortium.clinic_staff, report_url(study, f"/versions/{n}/verification"))
            for n in (1, 2)
        ]

        assert [c.json()["valid"] for c in checks] == [True, True], [c.json() for c in checks]

    def test_clinic_keeps_seeing_the_signed_version_while_an_addendum_is_drafted(
        self, api: Api, consortium: Consortium, study: Study
    ) -> None:
        first = _signed(api, consortium, study)
        api.post(consortium.radiologist, report_url(study, "/amendments"), CORRECTION)

        clinic = api.get(consortium.clinic_staff, report_url(study)).json()
        clinic_history = api.get(consortium.clinic_staff, report_url(study, "/versions")).json()
        reader_history = api.get(consortium.radiologist, report_url(study, "/versions")).json()
        draft_for_clinic = api.get(consortium.clinic_staff, report_url(study, "/versions/2"))

        assert clinic["id"] == first["id"]
        assert [v["version"] for v in clinic_history] == [1]
        assert [(v["version"], v["status"]) for v in reader_history] == [
            (1, "FINAL"),
            (2, "DRAFT"),
        ]
        assert_error(draft_for_clinic, 404, "report_not_found")

    def test_only_the_amendment_author_may_sign_it(
        self, api: Api, consortium: Consortium, study: Study, use_database: Database
    ) -> None:
        _signed(api, consortium, study)
        api.post(consortium.radiologist, report_url(study, "/amendments"), CORRECTION)

        by_other = api.post(consortium.senior_radiologist, report_url(study, "/sign"))
        edit_by_other = api.put(
            consortium.senior_radiologist,
            report_url(study, "/draft"),
            {"findings": "x", "impression": "y"},
        )

        assert_error(by_other, 403, "not_your_draft")
        assert_error(edit_by_other, 403, "not_your_draft")
        with use_database.factory() as session:
            rows = session.scalars(select(Report).where(Report.study_id == study.id)).all()
        assert sorted((r.version, r.status) for r in rows) == [(1, "FINAL"), (2, "DRAFT")]

    def test_no_second_amendment_while_one_is_open(
        self, api: Api, consortium: Consortium, study: Study
    ) -> None:
        _signed(api, consortium, study)
        api.post(consortium.radiologist, report_url(study, "/amendments"), CORRECTION)

        again = api.post(consortium.radiologist, report_url(study, "/amendments"), CORRECTION)

        assert_error(again, 409, "addendum_not_possible")

    def test_amendment_needs_a_reason(self, api: Api, consortium: Consortium, study: Study) -> None:
        _signed(api, consortium, study)

        response = api.post(
            consortium.radiologist, report_url(study, "/amendments"), {"kind": "correction"}
        )

        assert response.status_code == 422

    def test_other_consortium_sees_no_history(
        self, api: Api, consortium: Consortium, study: Study, use_database: Database
    ) -> None:
        _signed(api, consortium, study)
        other = tenant_factory.build_consortium(use_database.factory)

        for url in ("/versions", "/versions/1", "/versions/1/verification", "/draft"):
            response = api.get(other.radiologist, report_url(study, url))
            assert response.status_code == 404, (url, response.text)
        opened = api.post(other.radiologist, report_url(study, "/amendments"), CORRECTION)
        assert opened.status_code == 404
        decisions = api.get(other.radiologist, report_url(study, "/versions/1/ai-decisions"))
        assert decisions.status_code == 404
        writes = [
            api.put(other.radiologist, report_url(study, "/draft"), {"values": {}}),
            api.post(
                other.radiologist,
                report_url(study, f"/ai-findings/{uuid.uuid4()}/decision"),
                {"decision": "accept"},
            ),
            api.post(other.radiologist, report_url(study, "/sign")),
        ]
        assert [w.status_code for w in writes] == [404, 404, 404]
