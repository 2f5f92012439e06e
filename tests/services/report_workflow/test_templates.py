"""Report templates as data: the shipped library, checks on load, consortium versions, isolation."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from lxml import etree  # type: ignore[import-untyped]
from sqlalchemy import delete, select
from typer.testing import CliRunner

from services.cli.app import _add_groups
from services.cli.app import app as cli_app
from services.domain.report_template import TemplateInvalid, parse_template
from services.kit.db import session_scope
from services.models import ReportTemplate
from services.report.template_library import LIBRARY_DIR, load_library, vocabulary
from tests.factories import tenant as tenant_factory
from tests.factories.tenant import Consortium
from tests.fixtures.api_client import Api
from tests.fixtures.databases import Database
from tests.services.report_workflow.steps import assert_error

EXAMS = {"chest-xr", "ct-chest", "ct-head", "hand-bone-age", "fundus-photo"}


def _library_file(name: str = "chest-xr.en.json") -> dict[str, Any]:
    data: dict[str, Any] = json.loads((LIBRARY_DIR / name).read_text(encoding="utf-8"))
    return data


def _custom(key: str = "ct-sinus") -> dict[str, Any]:
    data = _library_file()
    data.pop("version")
    data["key"], data["title"] = key, "CT sinus (consortium)"
    return data


class TestLibrary:
    @pytest.mark.unit
    def test_every_exam_ships_in_chinese_and_english(self) -> None:
        library = load_library()
        assert {(t.key, t.language) for t in library} == {
            (key, lang) for key in EXAMS for lang in ("zh-CN", "en")
        }

    @pytest.mark.unit
    def test_templates_follow_the_chinese_layout_with_coded_findings(self) -> None:
        for item in load_library():
            template = parse_template(item.definition, vocabulary())
            assert [s.kind for s in template.sections] == [
                "general",
                "exam_method",
                "findings",
                "impression",
                "recommendation",
            ]
            coded = [f for f in template.fields().values() if f.kind == "finding"]
            assert coded and all(f.concept is not None for f in coded)
            assert template.fields()["differentials"].max_items == 3

    @pytest.mark.unit
    def test_a_file_with_an_unknown_code_refuses_to_load_naming_it(self, tmp_path: Path) -> None:
        (tmp_path / "vocabulary.json").write_text(
            (LIBRARY_DIR / "vocabulary.json").read_text(encoding="utf-8"), encoding="utf-8"
        )
        data = _library_file()
        data["sections"][2]["fields"][1]["code"] = {"system": "RadLex", "code": "RID999999"}
        (tmp_path / "chest-xr.en.json").write_text(json.dumps(data), encoding="utf-8")

        with pytest.raises(TemplateInvalid) as caught:
            load_library(tmp_path)

        assert caught.value.problems == [
            "chest-xr.en.json: section findings field 'consolidation': unknown RadLex code "
            "'RID999999' (not in the RadBridge vocabulary)"
        ]

    @pytest.mark.unit
    def test_a_mistyped_snomed_code_fails_its_check_digit(self) -> None:
        data = _library_file()
        data["sections"][2]["fields"][5]["code"] = {"system": "SNOMED CT", "code": "8186002"}

        with pytest.raises(TemplateInvalid, match="fails its check digit"):
            parse_template(data, vocabulary())

    @pytest.mark.unit
    def test_more_than_three_differentials_is_refused(self) -> None:
        data = _library_file()
        data["sections"][3]["fields"][1]["max_items"] = 4

        with pytest.raises(TemplateInvalid, match="at most 3 differentials"):
            parse_template(data, vocabulary())

    def test_the_migration_stored_the_library(self, use_database: Database) -> None:
        with use_database.factory() as session:
            rows = session.scalars(
                select(ReportTemplate).where(ReportTemplate.tenant_id.is_(None))
            ).all()
        assert {(r.key, r.language) for r in rows} >= {(k, "zh-CN") for k in EXAMS}


class TestTemplateApi:
    def test_reader_lists_library_templates_by_language(
        self, api: Api, consortium: Consortium
    ) -> None:
        rows = api.get(consortium.radiologist, "/api/v1/report-templates", language="zh-CN")

        assert rows.status_code == 200
        assert {r["key"] for r in rows.json()} == EXAMS
        assert all(r["library"] and r["language"] == "zh-CN" for r in rows.json())

    def test_admin_adds_versions_of_a_template(self, api: Api, consortium: Consortium) -> None:
        admin = consortium.consortium_admin
        first = api.post(admin, "/api/v1/report-templates", _custom())
        second = api.post(admin, "/api/v1/report-templates", _custom())

        assert (first.status_code, second.status_code) == (201, 201)
        assert (first.json()["version"], second.json()["version"]) == (1, 2)
        listed = api.get(consortium.radiologist, "/api/v1/report-templates").json()
        assert [r["version"] for r in listed if r["key"] == "ct-sinus"] == [2]

    def test_unknown_code_is_422_and_nothing_is_stored(
        self, api: Api, consortium: Consortium, use_database: Database
    ) -> None:
        data = _custom("ct-bad")
        data["sections"][2]["fields"][2]["code"] = {"system": "SNOMED CT", "code": "404684003"}

        response = api.post(consortium.consortium_admin, "/api/v1/report-templates", data)

        body = assert_error(response, 422, "template_invalid")
        assert "unknown SNOMED CT code '404684003'" in body["message"]
        assert "field 'nodule'" in body["message"]
        with use_database.factory() as session:
            stored = session.scalars(select(ReportTemplate).where(ReportTemplate.key == "ct-bad"))
            assert stored.all() == []

    def test_radiologist_cannot_add_templates(self, api: Api, consortium: Consortium) -> None:
        response = api.post(consortium.radiologist, "/api/v1/report-templates", _custom())

        assert_error(response, 403, "forbidden")

    def test_other_consortium_cannot_see_a_template(
        self, api: Api, consortium: Consortium, use_database: Database
    ) -> None:
        created = api.post(consortium.consortium_admin, "/api/v1/report-templates", _custom())
        other = tenant_factory.build_consortium(use_database.factory)

        read = api.get(other.radiologist, f"/api/v1/report-templates/{created.json()['id']}")
        listed = api.get(other.consortium_admin, "/api/v1/report-templates").json()

        assert_error(read, 404, "template_not_found")
        assert "ct-sinus" not in {r["key"] for r in listed}

    def test_template_definition_is_returned_in_full(
        self, api: Api, consortium: Consortium
    ) -> None:
        rows = api.get(consortium.radiologist, "/api/v1/report-templates", language="en").json()
        head = next(r for r in rows if r["key"] == "ct-head")

        body = api.get(consortium.radiologist, f"/api/v1/report-templates/{head['id']}").json()

        fields = {f["id"]: f for s in body["definition"]["sections"] for f in s["fields"]}
        assert fields["intracranial_hemorrhage"]["code"] == {
            "system": "SNOMED CT",
            "code": "1386000",
        }
        assert copy.deepcopy(body["definition"]["exam"]["modalities"]) == ["CT"]


class TestMrrtExport:
    def test_template_exports_as_mrrt_xhtml_with_its_codes(
        self, api: Api, consortium: Consortium
    ) -> None:
        rows = api.get(consortium.radiologist, "/api/v1/report-templates", language="zh-CN")
        chest = next(r for r in rows.json() if r["key"] == "chest-xr")

        response = api.get(consortium.radiologist, f"/api/v1/report-templates/{chest['id']}/mrrt")

        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/xhtml+xml")
        doc = etree.fromstring(response.text.split("\n", 1)[1].encode("utf-8"))
        ns = {"h": "http://www.w3.org/1999/xhtml"}
        sections = doc.findall(".//h:body/h:section", ns)
        assert [s.get("data-section-name") for s in sections] == [
            "general",
            "exam_method",
            "findings",
            "impression",
            "recommendation",
        ]
        codes = {
            (c.get("value"), c.get("scheme"))
            for c in doc.findall(".//h:coded_content/h:entry/h:term/h:code", ns)
        }
        assert ("RID5352", "RADLEX") in codes
        assert ("8186001", "SNOMEDCT") in codes
        assert doc.find(".//h:title", ns).text == "胸部X线摄影报告"

    def test_other_consortium_cannot_export_its_template(
        self, api: Api, consortium: Consortium, use_database: Database
    ) -> None:
        created = api.post(consortium.consortium_admin, "/api/v1/report-templates", _custom())
        other = tenant_factory.build_consortium(use_database.factory)

        response = api.get(
            other.radiologist, f"/api/v1/report-templates/{created.json()['id']}/mrrt"
        )

        assert response.status_code == 404


class TestSyncCommand:
    def test_sync_restores_a_missing_library_template(self, use_database: Database) -> None:
        missing = (
            ReportTemplate.tenant_id.is_(None),
            ReportTemplate.key == "fundus-photo",
            ReportTemplate.language == "en",
        )
        with session_scope(use_database.factory) as session:
            session.execute(delete(ReportTemplate).where(*missing))
        _add_groups()

        result = CliRunner().invoke(cli_app, ["report", "sync-templates"])
        again = CliRunner().invoke(cli_app, ["report", "sync-templates"])

        assert result.exit_code == 0, result.output
        assert "1 template(s) added" in result.output
        assert "0 template(s) added" in again.output
        with use_database.factory() as session:
            assert len(session.scalars(select(ReportTemplate).where(*missing)).all()) == 1
