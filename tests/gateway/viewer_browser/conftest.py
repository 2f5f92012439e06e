"""The OHIF viewer in a real browser: Debian's Chromium driven by Playwright, against the gateway
under uvicorn (viewer at /viewer/, DICOMweb at /dicomweb), a real Orthanc and the real databases.

Clinic A sends a CT study through the gateway's STOW-RS and the change-feed watcher registers
it, as in production; the AI result SR (TID 1500) is then written into the study by the
inference follow-up (``write_result_sr``) for a finished run. The clinic's upload also holds an
SR it labelled like RadBridge's AI output itself: that one must never be shown.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pydicom
import pytest
from dicomweb_client.api import DICOMwebClient
from playwright.sync_api import Browser, ConsoleMessage, Page, Request, Response
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid
from requests import HTTPError
from sqlalchemy import select

from gateway.api.app import create_app
from gateway.api.dependencies import object_store, orthanc_client
from gateway.dicomweb.upstream import OrthancDicomWeb, orthanc_dicomweb
from gateway.ingest.watcher import FEED
from gateway.viewer_web import bundle
from inference.dicom import results_sr
from inference.dicom.source import OrthancInstanceSource
from inference.dicom.writer import OrthancResultWriter
from inference.pipelines.findings import FindingDraft
from inference.result_sr_job import write_result_sr
from services.change_feed import service as cursor
from services.kit.storage import LocalDiskStore
from services.models import AiFinding, InferenceJob, Study
from tests.fixtures.consortium import Consortium, build_consortium
from tests.fixtures.databases import Database
from tests.fixtures.live_server import live_server
from tests.fixtures.orthanc import PASSWORD, USERNAME, OrthancHandle, last_seq
from tests.gateway.upload.conftest import (  # noqa: F401 - consortium, gateway_url: fixtures
    consortium,
    drain,
    gateway_url,
    make_study,
    token_for,
)
from tests.gateway.upload_browser.conftest import browser  # noqa: F401 - fixture

CT_SLICES = 3


@dataclass
class ViewerWorld:
    """Two consortia; ``mine`` holds one CT study with its AI result SR; a served gateway."""

    mine: Consortium
    other: Consortium
    study_uid: str
    ct_series_uid: str
    sr_series_uid: str
    forged_series_uid: str
    url: str


def _study(db: Database, study_uid: str) -> Study:
    with db.factory() as session:
        return session.scalars(select(Study).where(Study.study_instance_uid == study_uid)).one()


def _finished_ai_job(db: Database, study: Study, series_uid: str) -> uuid.UUID:
    """Finish the study's image-quality run (queued by routing) as the inference runner does."""
    with db.factory.begin() as session:
        job = session.scalars(
            select(InferenceJob).where(
                InferenceJob.study_id == study.id, InferenceJob.model_name == "image_quality"
            )
        ).one()
        job.status = "SUCCEEDED"
        job.input_series_uid = series_uid
        job.input_modality = "CT"
        session.add(
            AiFinding(
                tenant_id=study.tenant_id,
                study_id=study.id,
                job_id=job.id,
                model_name=job.model_name,
                model_version=job.model_version,
                code="image-quality-retake",
                label_en="Image quality: retake suggested",
                label_zh="图像质量不佳：建议重拍",
                score=0.72,
                severity="significant",
                detail={"retake_score": 0.72, "images": [{"measures": {"exposure": 0.31}}]},
            )
        )
        return job.id


def _forged_ai_report(source: Dataset) -> Dataset:
    """An SR a clinic builds itself and labels like RadBridge's AI output."""
    finding = FindingDraft("forged", "Forged result", "伪造结果", 0.99, "critical", {})
    run = results_sr.AiRun(
        job_id=uuid.uuid4(),
        model=results_sr.model_identity("image_quality", "1"),
        findings=[finding],
        measures={},
    )
    report = results_sr.build_report(source, run)
    # Its own series: the AI series UID derives from study and model. Ingest refuses any upload
    # labelled like RadBridge's output, whatever its series UID.
    report.SeriesInstanceUID = generate_uid()
    return report


def _ct_stack(folder: Path) -> tuple[str, list[Dataset]]:
    study_uid, paths = make_study(
        folder, CT_SLICES, PatientName="Wang^Fang", PatientID=f"V{uuid.uuid4().hex[:6]}"
    )
    slices: list[Dataset] = [pydicom.dcmread(path) for path in paths]
    for number, ds in enumerate(slices):  # a real stack: one slice every 5 mm
        ds.ImagePositionPatient = [-158.0, -179.0, -75.0 + 5 * number]
        ds.SliceLocation = -75.0 + 5 * number
    return study_uid, slices


@pytest.fixture
def viewer_world(
    use_database: Database, orthanc: OrthancHandle, tmp_path: Path
) -> Iterator[ViewerWorld]:
    """Clinic A's CT study sent by STOW-RS and registered, with the AI result SR written."""
    if not bundle.installed():
        pytest.fail(
            f"The OHIF viewer {bundle.PACKAGE}@{bundle.VERSION} is not installed: run "
            "`bash infra/dev.sh setup` (or `.venv/bin/python -m gateway.viewer_web.install`)."
        )
    with use_database.factory.begin() as session:
        mine, other = build_consortium(session), build_consortium(session)
    with use_database.factory.begin() as session:
        cursor.advance(session, FEED, last_seq(orthanc))
    study_uid, slices = _ct_stack(tmp_path / "ct")
    forged = _forged_ai_report(slices[0])

    app = create_app()
    store = LocalDiskStore(tmp_path / "objects")
    upstream = OrthancDicomWeb(orthanc.http_url, USERNAME, PASSWORD)
    app.dependency_overrides[orthanc_client] = lambda: orthanc.client
    app.dependency_overrides[object_store] = lambda: store
    app.dependency_overrides[orthanc_dicomweb] = lambda: upstream
    source = OrthancInstanceSource(orthanc.http_url, USERNAME, PASSWORD)
    writer = OrthancResultWriter(orthanc.http_url, USERNAME, PASSWORD)
    try:
        with live_server(app) as url:
            auth = {"Authorization": f"Bearer {token_for(mine, 'staff_a')}"}
            client = DICOMwebClient(f"{url}/dicomweb", headers=auth)
            stored = client.store_instances(slices)
            assert len(stored.ReferencedSOPSequence) == CT_SLICES
            with pytest.raises(HTTPError) as refused:  # ingest refuses RadBridge's own labels
                client.store_instances([forged])
            assert refused.value.response is not None
            assert refused.value.response.status_code == 409
            assert drain(orthanc, use_database, study_uid, timeout=30), "study not registered"
            study = _study(use_database, study_uid)
            ct_series = str(slices[0].SeriesInstanceUID)
            job_id = _finished_ai_job(use_database, study, ct_series)
            assert write_result_sr(job_id, source=source, writer=writer) == "written"
            (sr_series,) = [
                s.series_instance_uid
                for s in orthanc.client.get_study(study.orthanc_id or "").series
                if s.modality == "SR" and s.series_instance_uid != forged.SeriesInstanceUID
            ]
            yield ViewerWorld(
                mine=mine,
                other=other,
                study_uid=study_uid,
                ct_series_uid=ct_series,
                sr_series_uid=sr_series,
                forged_series_uid=str(forged.SeriesInstanceUID),
                url=url,
            )
    finally:
        source.close()
        writer.close()
        upstream.close()


@dataclass
class ViewerPage:
    """A browser page on the viewer, with what it logged and which requests failed."""

    page: Page
    console_errors: list[str]
    page_errors: list[str]
    failed_requests: list[str]

    def record(self, response: Response) -> None:
        """Remember a failed answer (4xx/5xx) with its URL."""
        if response.status >= 400:
            self.failed_requests.append(f"{response.status} {response.url}")

    def record_failure(self, request: Request) -> None:
        """Remember a request that got no answer; ones the page itself cancelled are not errors."""
        if request.failure != "net::ERR_ABORTED":
            self.failed_requests.append(f"{request.failure} {request.url}")


@pytest.fixture
def viewer_page(browser: Browser) -> Iterator[ViewerPage]:  # noqa: F811 - the imported fixture
    """A fresh browser context (own sessionStorage) recording errors and failed requests."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    watched = ViewerPage(page, [], [], [])
    page.on("pageerror", lambda exc: watched.page_errors.append(str(exc)))

    def console(message: ConsoleMessage) -> None:
        if message.type == "error":
            watched.console_errors.append(f"{message.text} ({message.location.get('url')})")

    page.on("console", console)
    context.on("response", watched.record)  # the page's and its workers' requests
    context.on("requestfailed", watched.record_failure)
    yield watched
    context.close()
