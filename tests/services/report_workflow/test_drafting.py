"""Writing from a template: AI findings pre-filled, each decision stored, autosave with ETags."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from services.models import AuditEvent, Report, ReportFindingDecision, Study
from services.worklist import repository as worklist_repository
from tests.factories import tenant as tenant_factory
from tests.factories.tenant import Consortium
from tests.fixtures.api_client import Api
from tests.fixtures.databases import Database
from tests.services.report_workflow.steps import (
    add_ai_findings,
    assert_error,
    library_id,
    report_url,
)
from tests.services.test_api_flow import DRAFT, _claim


def _start(
    api: Api, consortium: Consortium, study: Study, language: str = "zh-CN"
) -> dict[str, Any]:
    template_id = library_id(api, consortium.radiologist, "ct-chest", language)
    response = api.post(
        consortium.radiologist,
        report_url(study, "/draft/from-template"),
        {"template_id": template_id},
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _decide(api: Api, consortium: Consortium, study: Study, finding_id: str, body: dict[str, Any]):
    return api.post(
        consortium.radiologist, report_url(study, f"/ai-findings/{finding_id}/decision"), body
    )


class TestStartFromTemplate:
    def test_ai_findings_are_offered_and_mapped_to_coded_fields(
        self, api: Api, consortium: Consortium, claimed: Study, use_database: Database
    ) -> None:
        nodule, other = add_ai_findings(use_database, claimed, "lung-nodule", "rib-lesion")

        draft = _start(api, consortium, claimed)

        offered = {a["code"]: a for a in draft["structured"]["ai"]}
        assert offered["lung-nodule"]["field_id"] == "nodule"
        assert offered["rib-lesion"]["field_id"] is None
        assert {a["decision"] for a in offered.values()} == {None}
        values = draft["structured"]["values"]
        assert values["nodule"]["ai_finding_id"] in {str(nodule.id), str(other.id)}
        assert values["technique"] == "胸部CT平扫"
        # Undecided AI findings are not printed as the reader's findings.
        assert "肺结节" not in draft["findings"]
        assert draft["status"] == "DRAFT" and draft["hl7_status"] == "P"

    def test_study_of_another_consortium_is_404(
        self, api: Api, claimed: Study, use_database: Database
    ) -> None:
        other = tenant_factory.build_consortium(use_database.factory)
        template_id = library_id(api, other.radiologist, "ct-chest", "en")

        response = api.post(
            other.radiologist,
            report_url(claimed, "/draft/from-template"),
            {"template_id": template_id},
        )

        assert response.status_code == 404

    def test_without_the_claim_nothing_is_created(
        self, api: Api, consortium: Consortium, study: Study, use_database: Database
    ) -> None:
        template_id = library_id(api, consortium.radiologist, "ct-chest", "en")

        response = api.post(
            consortium.radiologist,
            report_url(study, "/draft/from-template"),
            {"template_id": template_id},
        )

        assert_error(response, 409, "not_claimed_by_you")
        with use_database.factory() as session:
            assert session.scalars(select(Report).where(Report.study_id == study.id)).all() == []


class TestAiDecisions:
    def test_each_decision_is_stored_for_model_monitoring(
        self, api: Api, consortium: Consortium, claimed: Study, use_database: Database
    ) -> None:
        nodule, lesion, extra = add_ai_findings(
            use_database, claimed, "lung-nodule", "rib-lesion", "scar"
        )
        _start(api, consortium, claimed, "en")
        by_code = {f.code: f for f in (nodule, lesion, extra)}

        _decide(api, consortium, claimed, str(by_code["lung-nodule"].id), {"decision": "accept"})
        _decide(api, consortium, claimed, str(by_code["scar"].id), {"decision": "reject"})
        last = _decide(
            api,
            consortium,
            claimed,
            str(by_code["rib-lesion"].id),
            {"decision": "edit", "edited_value": "Healed fracture of the right 5th rib"},
        )

        assert last.status_code == 200, last.text
        findings = last.json()["findings"]
        assert "Pulmonary nodule: present" in findings
        assert "Healed fracture of the right 5th rib (AI)" in findings
        assert "scar" not in findings
        with use_database.factory() as session:
            rows = session.scalars(
                select(ReportFindingDecision).where(
                    ReportFindingDecision.report_id == uuid.UUID(last.json()["id"])
                )
            ).all()
        decided = {(str(r.finding_id), r.decision, r.edited_value) for r in rows}
        assert decided == {
            (str(by_code["lung-nodule"].id), "accept", None),
            (str(by_code["scar"].id), "reject", None),
            (str(by_code["rib-lesion"].id), "edit", "Healed fracture of the right 5th rib"),
        }
        assert {r.reader_id for r in rows} == {consortium.radiologist.user_id}

    def test_signing_waits_for_every_decision(
        self, api: Api, consortium: Consortium, claimed: Study, use_database: Database
    ) -> None:
        add_ai_findings(use_database, claimed, "lung-nodule")
        draft = _start(api, consortium, claimed, "en")
        api.put(
            consortium.radiologist,
            report_url(claimed, "/draft"),
            {
                "values": {**draft["structured"]["values"], "diagnosis": "Lung nodule"},
                "revision": draft["revision"],
            },
        )

        response = api.post(consortium.radiologist, report_url(claimed, "/sign"))

        body = assert_error(response, 409, "ai_decisions_pending")
        assert "1 still open" in body["message"]
        assert api.get(consortium.radiologist, report_url(claimed)).json()["status"] == "DRAFT"

    def test_edit_without_text_is_refused(
        self, api: Api, consortium: Consortium, claimed: Study, use_database: Database
    ) -> None:
        (finding,) = add_ai_findings(use_database, claimed, "lung-nodule")
        _start(api, consortium, claimed, "en")

        response = _decide(api, consortium, claimed, str(finding.id), {"decision": "edit"})

        assert_error(response, 422, "draft_invalid")

    def test_a_finding_not_offered_is_404(
        self, api: Api, consortium: Consortium, claimed: Study, use_database: Database
    ) -> None:
        _start(api, consortium, claimed, "en")
        other_study_finding = "00000000-0000-4000-8000-000000000001"

        response = _decide(api, consortium, claimed, other_study_finding, {"decision": "accept"})

        assert_error(response, 404, "ai_finding_not_found")


class TestAutosave:
    def test_etag_round_trip_and_lost_update_is_412(
        self, api: Api, consortium: Consortium, claimed: Study
    ) -> None:
        _start(api, consortium, claimed, "en")
        loaded = api.get(consortium.radiologist, report_url(claimed, "/draft"))
        etag = loaded.headers["ETag"]
        values = loaded.json()["structured"]["values"]

        first = api.client.put(
            report_url(claimed, "/draft"),
            json={"values": {**values, "diagnosis": "Tab one"}},
            headers={**api.headers(consortium.radiologist), "If-Match": etag},
        )
        stale = api.client.put(
            report_url(claimed, "/draft"),
            json={"values": {**values, "diagnosis": "Tab two"}},
            headers={**api.headers(consortium.radiologist), "If-Match": etag},
        )

        assert first.status_code == 200, first.text
        assert first.headers["ETag"] != etag
        assert_error(stale, 412, "draft_changed")
        now = api.get(consortium.radiologist, report_url(claimed, "/draft")).json()
        assert "Tab one" in now["impression"]

    def test_values_that_do_not_fit_the_template_are_422(
        self, api: Api, consortium: Consortium, claimed: Study
    ) -> None:
        _start(api, consortium, claimed, "en")

        response = api.put(
            consortium.radiologist,
            report_url(claimed, "/draft"),
            {"values": {"nodule_diameter": 400, "differentials": ["a", "b", "c", "d"], "x": 1}},
        )

        body = assert_error(response, 422, "draft_invalid")
        assert "unknown field 'x'" in body["message"]
        assert "'nodule_diameter' must be a number between 1 and 100" in body["message"]
        assert "at most 3 differential" in body["message"]

    def test_structured_values_compose_the_chinese_report_text(
        self, api: Api, consortium: Consortium, claimed: Study
    ) -> None:
        _start(api, consortium, claimed, "zh-CN")
        values = {
            "clinical_history": "咳嗽两周",
            "technique": "胸部CT平扫",
            "pleural_effusion": {"present": False},
            "nodule": {"present": True, "detail": "右肺上叶"},
            "nodule_diameter": 8,
            "diagnosis": "右肺上叶结节",
            "differentials": ["炎性结节", "肺癌"],
            "recommendation": "3个月后复查胸部CT",
        }

        saved = api.put(consortium.radiologist, report_url(claimed, "/draft"), {"values": values})

        body = saved.json()
        assert body["findings"].splitlines() == [
            "临床资料：咳嗽两周",
            "扫描方法：胸部CT平扫",
            "肺结节：可见；右肺上叶",
            "最大结节直径：8 mm",
            "胸腔积液：未见",
        ]
        assert body["impression"].splitlines() == [
            "诊断：右肺上叶结节",
            "鉴别诊断：1. 炎性结节；2. 肺癌",
            "建议：3个月后复查胸部CT",
        ]

    def test_the_claimant_takes_over_a_released_draft_audited(
        self, api: Api, consortium: Consortium, claimed: Study, use_database: Database
    ) -> None:
        api.put(consortium.radiologist, report_url(claimed, "/draft"), DRAFT)
        with use_database.factory() as session:
            item = worklist_repository.by_study(session, claimed.id)
            assert item is not None
        released = api.post(consortium.radiologist, f"/api/v1/worklist/{item.id}/release")
        assert released.status_code == 200, released.text
        (other,) = tenant_factory.add_radiologists(use_database.factory, consortium, 1)
        assert _claim(api, other, claimed).status_code == 200

        signed_by_other = api.post(other, report_url(claimed, "/sign"))
        taken = api.put(other, report_url(claimed, "/draft"), DRAFT)

        assert_error(signed_by_other, 403, "not_your_draft")
        assert taken.json()["author_id"] == str(other.user_id)
        with use_database.factory() as session:
            events = session.scalars(
                select(AuditEvent).where(AuditEvent.action == "report.draft_taken_over")
            ).all()
        assert [e.object_id for e in events if e.study_id == claimed.id] == [taken.json()["id"]]
