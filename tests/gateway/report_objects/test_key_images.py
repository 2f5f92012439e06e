"""Key images chosen over the API, rendered from a real Orthanc, printed in the signed PDF."""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader
from sqlalchemy import update

from gateway.dicomweb.upstream import OrthancDicomWeb
from gateway.report_objects.key_images import capture
from services.api.app import create_app
from services.contracts.task_names import CAPTURE_KEY_IMAGE
from services.kit import db as kit_db
from services.kit.db import session_scope
from services.kit.settings import get_settings
from services.models import Report, Series
from services.report.key_images import KeyImagesPending
from services.report.rendering import render_and_store
from services.report.storage import load_pdf
from tests.factories import tenant as tenant_factory
from tests.fixtures.api_client import Api
from tests.fixtures.databases import Database
from tests.fixtures.orthanc import PASSWORD, USERNAME, OrthancHandle
from tests.gateway.report_objects.test_report_objects import _study_in_orthanc
from tests.services.test_api_flow import DRAFT, _claim, _study_url

pytestmark = pytest.mark.integration


@pytest.fixture
def api(use_database: Database) -> Iterator[Api]:
    with TestClient(create_app()) as client:
        yield Api(client)


@pytest.fixture
def dicomweb(orthanc: OrthancHandle) -> Iterator[OrthancDicomWeb]:
    client = OrthancDicomWeb(orthanc.http_url, USERNAME, PASSWORD)
    yield client
    client.close()


def _queued() -> list[str]:
    sent = kit_db.PUBLISHER.sent
    ids = [m.kwargs["key_image_id"] for m in sent if m.task_name == CAPTURE_KEY_IMAGE]
    sent[:] = [m for m in sent if m.task_name != CAPTURE_KEY_IMAGE]
    return ids


def test_key_image_is_rendered_and_printed(
    api: Api,
    use_database: Database,
    orthanc: OrthancHandle,
    dicomweb: OrthancDicomWeb,
    tmp_path: Path,
) -> None:
    consortium = tenant_factory.build_consortium(use_database.factory)
    study, orthanc_study = _study_in_orthanc(orthanc, use_database, consortium, tmp_path)
    info = orthanc.client.get_study(orthanc_study)
    series_uid = info.series[0].series_instance_uid
    with session_scope(use_database.factory) as session:  # the DB knows the Orthanc series
        session.execute(
            update(Series).where(Series.study_id == study.id).values(series_instance_uid=series_uid)
        )
    sop_uid = orthanc.client.study_sop_instance_uids(orthanc_study)[0]
    reader = consortium.radiologist
    url = f"{_study_url(study)}/report/key-images"
    choice = {"series_instance_uid": series_uid, "sop_instance_uid": sop_uid, "caption": "病灶"}
    assert _claim(api, reader, study).status_code == 200
    assert api.put(reader, f"{_study_url(study)}/report/draft", DRAFT).status_code == 200
    chosen = api.put(reader, url, {"images": [choice]})
    assert chosen.status_code == 200, chosen.text
    (key_image_id,) = _queued()
    signed = api.post(reader, f"{_study_url(study)}/report/sign")
    assert signed.status_code == 200, signed.text
    report_id = uuid.UUID(signed.json()["id"])
    with session_scope(use_database.factory) as session, pytest.raises(KeyImagesPending):
        render_and_store(session, get_settings(), report_id=report_id)  # not captured yet
    with session_scope(use_database.factory) as session:
        outcome = capture(session, get_settings(), dicomweb, key_image_id=uuid.UUID(key_image_id))
    assert outcome == "captured"
    listed = api.get(consortium.clinic_staff, url).json()
    assert listed[0]["captured_at"] is not None
    with session_scope(use_database.factory) as session:
        assert render_and_store(session, get_settings(), report_id=report_id)
    with use_database.factory() as session:
        report = session.get(Report, report_id)
        assert report is not None
        pdf = load_pdf(get_settings(), report)
    reader_pdf = PdfReader(io.BytesIO(pdf))
    images = [img for page in reader_pdf.pages for img in page.images]
    assert len(images) == 1  # the key image: CT_small rendered by Orthanc into the viewport
    assert images[0].image is not None
    assert images[0].image.size == (1024, 1024)
    other = tenant_factory.build_consortium(use_database.factory)
    assert api.get(other.radiologist, url).status_code == 404


def test_an_image_from_elsewhere_fails_clearly_and_the_pdf_goes_without(
    api: Api,
    use_database: Database,
    orthanc: OrthancHandle,
    dicomweb: OrthancDicomWeb,
    tmp_path: Path,
) -> None:
    consortium = tenant_factory.build_consortium(use_database.factory)
    study, _ = _study_in_orthanc(orthanc, use_database, consortium, tmp_path)
    reader = consortium.radiologist
    assert _claim(api, reader, study).status_code == 200
    assert api.put(reader, f"{_study_url(study)}/report/draft", DRAFT).status_code == 200
    with use_database.factory() as session:
        series_uid = session.query(Series.series_instance_uid).filter_by(study_id=study.id).scalar()
    choice = {"series_instance_uid": series_uid, "sop_instance_uid": "1.2.3.4.5.6"}
    assert (
        api.put(reader, f"{_study_url(study)}/report/key-images", {"images": [choice]}).status_code
        == 200
    )
    (key_image_id,) = _queued()
    with session_scope(use_database.factory) as session:
        outcome = capture(session, get_settings(), dicomweb, key_image_id=uuid.UUID(key_image_id))
    assert outcome.startswith("failed: The image is not in this study")
    signed = api.post(reader, f"{_study_url(study)}/report/sign")
    report_id = uuid.UUID(signed.json()["id"])
    with session_scope(use_database.factory) as session:
        assert render_and_store(session, get_settings(), report_id=report_id)


def test_bad_choices_are_refused(
    api: Api, use_database: Database, orthanc: OrthancHandle, tmp_path: Path
) -> None:
    consortium = tenant_factory.build_consortium(use_database.factory)
    study, _ = _study_in_orthanc(orthanc, use_database, consortium, tmp_path)
    reader = consortium.radiologist
    url = f"{_study_url(study)}/report/key-images"
    with use_database.factory() as session:
        series_uid = session.query(Series.series_instance_uid).filter_by(study_id=study.id).scalar()
    choice = {"series_instance_uid": series_uid, "sop_instance_uid": "1.2.3.4"}
    unclaimed = api.put(reader, url, {"images": [choice]})
    assert unclaimed.status_code == 409  # the claim comes first
    assert _claim(api, reader, study).status_code == 200
    assert api.put(reader, url, {"images": [choice]}).status_code == 404  # no draft yet
    assert api.put(reader, f"{_study_url(study)}/report/draft", DRAFT).status_code == 200
    wrong = api.put(reader, url, {"images": [{**choice, "series_instance_uid": "1.2.3"}]})
    assert wrong.status_code == 409
    assert wrong.json()["error"] == "key_image_not_in_study"
    assert api.put(reader, url, {"images": [choice] * 5}).status_code == 422
    injected = api.put(reader, url, {"images": [{**choice, "sop_instance_uid": "1.2/../x"}]})
    assert injected.status_code == 422
    assert _queued() == []
