"""The tenant boundary on the report endpoints: another consortium sees and changes nothing."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from services.api.app import create_app
from services.kit.db import session_scope
from services.kit.settings import get_settings
from services.models import Report, ReportKeyImage, Series, Study
from services.report.rendering import render_and_store
from tests.factories.tenant import Account, Consortium
from tests.fixtures.api_client import Api
from tests.fixtures.databases import Database
from tests.services.test_api_flow import DRAFT, _claim, _sign, _study_url

pytestmark = pytest.mark.integration


@pytest.fixture
def api(use_database: Database) -> Iterator[Api]:
    with TestClient(create_app()) as client:
        yield Api(client)


@pytest.fixture
def signed(api: Api, consortium: Consortium, study: Study, use_database: Database) -> Report:
    response = _sign(api, consortium.radiologist, study)
    assert response.status_code == 200, response.text
    report_id = uuid.UUID(response.json()["id"])
    with session_scope(use_database.factory) as session:
        assert render_and_store(session, get_settings(), report_id=report_id)
    with use_database.factory() as session:
        report = session.get(Report, report_id)
        assert report is not None
        return report


ROLES = ["clinic_staff", "radiologist", "consortium_admin"]


def _not_found(response_status: int) -> bool:
    # A study outside the caller's scope does not exist for them: 404, never its content.
    return response_status == 404


class TestLatestReport:
    @pytest.mark.parametrize("role", ROLES)
    def test_other_consortium_cannot_read_the_latest_report(
        self,
        api: Api,
        consortium: Consortium,
        other: Consortium,
        study: Study,
        signed: Report,
        role: str,
    ) -> None:
        own = api.get(consortium.clinic_staff, f"{_study_url(study)}/report")
        assert own.status_code == 200
        account: Account = getattr(other, role)
        response = api.get(account, f"{_study_url(study)}/report")
        assert _not_found(response.status_code), response.text
        assert signed.findings not in response.text
        assert str(signed.id) not in response.text


class TestReportPdf:
    @pytest.mark.parametrize("role", ROLES)
    def test_other_consortium_cannot_download_the_pdf(
        self,
        api: Api,
        consortium: Consortium,
        other: Consortium,
        study: Study,
        signed: Report,
        role: str,
    ) -> None:
        own = api.get(consortium.clinic_staff, f"{_study_url(study)}/report.pdf")
        assert own.status_code == 200
        assert own.content.startswith(b"%PDF")
        account: Account = getattr(other, role)
        response = api.get(account, f"{_study_url(study)}/report.pdf")
        assert _not_found(response.status_code)
        assert not response.content.startswith(b"%PDF")


class TestKeyImages:
    def _chosen(self, db: Database, study: Study) -> list[tuple[str, str, int]]:
        with db.factory() as session:
            rows = session.scalars(
                select(ReportKeyImage)
                .join(Report, Report.id == ReportKeyImage.report_id)
                .where(Report.study_id == study.id)
            ).all()
            return sorted((r.series_instance_uid, r.sop_instance_uid, r.position) for r in rows)

    def test_other_consortium_cannot_replace_the_key_images(
        self,
        api: Api,
        consortium: Consortium,
        other: Consortium,
        study: Study,
        use_database: Database,
    ) -> None:
        reader = consortium.radiologist
        url = f"{_study_url(study)}/report/key-images"
        with use_database.factory() as session:
            series_uid = session.scalars(
                select(Series.series_instance_uid).where(Series.study_id == study.id)
            ).first()
        assert series_uid is not None
        assert _claim(api, reader, study).status_code == 200
        assert api.put(reader, f"{_study_url(study)}/report/draft", DRAFT).status_code == 200
        choice = {"series_instance_uid": series_uid, "sop_instance_uid": "1.2.3.4", "caption": "a"}
        assert api.put(reader, url, {"images": [choice]}).status_code == 200
        before = self._chosen(use_database, study)
        assert len(before) == 1
        # Readers of another consortium: 404 (the study is not theirs to know of); other roles
        # are refused on the role before the study is even looked up: 403.
        expected = {
            "radiologist": 404,
            "senior_radiologist": 404,
            "consortium_admin": 403,
            "clinic_staff": 403,
        }
        for role, status in expected.items():
            intruder: Account = getattr(other, role)
            replaced = api.put(intruder, url, {"images": []})
            assert replaced.status_code == status, (role, replaced.text)
            other_choice = {**choice, "sop_instance_uid": "9.9.9"}
            injected = api.put(intruder, url, {"images": [other_choice]})
            assert injected.status_code == status, (role, injected.text)
        assert self._chosen(use_database, study) == before
        listed = api.get(reader, url)
        assert listed.status_code == 200
        assert [i["sop_instance_uid"] for i in listed.json()] == ["1.2.3.4"]
