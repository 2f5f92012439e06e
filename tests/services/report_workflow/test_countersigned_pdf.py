"""The countersigned PDF as a person reads it: both signers and times, the letterhead logo, and a
QR code that a scanner decodes to the cloud-film link (rasterized with pdfium, decoded by OpenCV).
"""

from __future__ import annotations

import base64
import io
import uuid
from zoneinfo import ZoneInfo

import cv2
import numpy as np
import pypdfium2 as pdfium
import pytest
from PIL import Image
from pypdf import PdfReader

from services.kit.db import session_scope
from services.kit.settings import get_settings
from services.models import Report, Study, Tenant
from services.report.letterhead import LogoRefused, decode_logo
from services.report.rendering import render_and_store
from services.report.storage import object_store
from tests.factories.tenant import Consortium
from tests.fixtures.api_client import Api
from tests.fixtures.databases import Database
from tests.services.report_workflow.steps import report_url
from tests.services.test_api_flow import DRAFT

pytestmark = pytest.mark.integration

CHINA = ZoneInfo("Asia/Shanghai")
FILM = "https://film.example.org/s/{study_uid}?from=radbridge"
LOGO_SIZE = (240, 80)


def _logo_png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", LOGO_SIZE, (200, 16, 46)).save(buffer, format="PNG")
    return buffer.getvalue()


def _set_letterhead(db: Database, consortium: Consortium, logo: str) -> None:
    with session_scope(db.factory) as session:
        tenant = session.get(Tenant, consortium.tenant_id)
        assert tenant is not None
        settings = dict(tenant.settings or {})
        settings["report_letterheads"] = {
            consortium.hospital.code: {"lines": ["平安路 1 号 / 1 Ping'an Road"], "logo": logo}
        }
        tenant.settings = settings


def _countersigned_pdf(
    api: Api, consortium: Consortium, study: Study, db: Database
) -> tuple[bytes, Report]:
    policy = {"double_signature": True, "emergency_single_signature": True}
    assert api.put(consortium.consortium_admin, "/api/v1/report-policy", policy).status_code == 200
    assert api.put(consortium.radiologist, report_url(study, "/draft"), DRAFT).status_code == 200
    signed = api.post(consortium.radiologist, report_url(study, "/sign"))
    assert signed.status_code == 200, signed.text
    final = api.post(consortium.senior_radiologist, report_url(study, "/countersign"))
    assert final.status_code == 200, final.text
    report_id = uuid.UUID(signed.json()["id"])
    with session_scope(db.factory) as session:
        assert render_and_store(session, get_settings(), report_id=report_id)
        report = session.get(Report, report_id)
        assert report is not None and report.pdf_key
        session.expunge(report)
    return object_store(get_settings()).get(report.pdf_key), report


def _qr_codes(pdf: bytes) -> list[str]:
    """Rasterize every page at 216 dpi and decode the QR codes on it.

    OpenCV's ArUco-based QR detector: its classic detector misses valid version-6 codes that
    zbar and phone scanners read (checked by hand with zbarimg on the same raster).
    """
    found = []
    document = pdfium.PdfDocument(pdf)
    try:
        for page in document:
            bitmap = page.render(scale=3).to_pil().convert("L")
            data, _, _ = cv2.QRCodeDetectorAruco().detectAndDecode(np.asarray(bitmap))
            if data:
                found.append(data)
    finally:
        document.close()
    return found


def _image_sizes(pdf: bytes) -> list[tuple[int, int]]:
    page = PdfReader(io.BytesIO(pdf)).pages[0]
    return [image.image.size for image in page.images if image.image is not None]


@pytest.fixture
def cloud_film(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("RADBRIDGE_CLOUD_FILM_URL", FILM)
    get_settings.cache_clear()
    return FILM


class TestCountersignedPdf:
    def test_signers_times_logo_and_qr_code(
        self,
        api: Api,
        consortium: Consortium,
        claimed: Study,
        use_database: Database,
        cloud_film: str,
    ) -> None:
        logo = "data:image/png;base64," + base64.b64encode(_logo_png()).decode()
        _set_letterhead(use_database, consortium, logo)
        pdf, report = _countersigned_pdf(api, consortium, claimed, use_database)
        assert report.signed_at is not None and report.cosigned_at is not None

        text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
        assert "Test radiologist" in text
        assert "Test senior" in text
        for moment in (report.signed_at, report.cosigned_at):  # printed in China time
            assert moment.astimezone(CHINA).strftime("%Y-%m-%d %H:%M (UTC+08:00)") in text
        assert "1 Ping'an Road" in text

        assert LOGO_SIZE in _image_sizes(pdf)  # the logo is embedded as the image it was

        assert _qr_codes(pdf) == [cloud_film.replace("{study_uid}", claimed.study_instance_uid)]

    @pytest.mark.parametrize(
        "logo",
        [
            "http://169.254.169.254/latest/meta-data/logo.png",
            "https://hospital.example.org/logo.png",
            "file:///etc/passwd",
            "data:text/html;base64,PGgxPmhpPC9oMT4=",
            "data:image/png;base64,not base64!",
        ],
    )
    def test_a_logo_that_is_not_an_inline_image_is_left_off(
        self,
        api: Api,
        consortium: Consortium,
        claimed: Study,
        use_database: Database,
        logo: str,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        _set_letterhead(use_database, consortium, logo)
        pdf, _ = _countersigned_pdf(api, consortium, claimed, use_database)
        assert _image_sizes(pdf) == []
        assert "letterhead logo" in caplog.text
        with pytest.raises(LogoRefused):
            decode_logo(logo)


class TestDecodeLogo:
    def test_jpeg_data_url_is_accepted(self) -> None:
        buffer = io.BytesIO()
        Image.new("RGB", (10, 10), (0, 0, 0)).save(buffer, format="JPEG")
        url = "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode()
        assert decode_logo(url) == buffer.getvalue()

    def test_oversized_logo_is_refused(self) -> None:
        url = "data:image/png;base64," + "A" * (400 * 1024)
        with pytest.raises(LogoRefused, match="larger than 256 KiB"):
            decode_logo(url)
