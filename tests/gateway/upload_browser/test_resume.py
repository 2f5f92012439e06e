"""An upload cut off by closing the page resumes at the gateway's offset when the files come back."""

from __future__ import annotations

from pathlib import Path

import pydicom
import pytest
from playwright.sync_api import Page, Route, expect
from pydicom.data import get_testdata_file
from pydicom.uid import generate_uid

from tests.fixtures.consortium import PASSWORD, Consortium
from tests.fixtures.databases import Database
from tests.fixtures.orthanc import OrthancHandle
from tests.gateway.upload.conftest import drain, make_study
from tests.gateway.upload_browser.page_actions import batch_of_page, send_folder, sign_in, signed_in

pytestmark = pytest.mark.integration
CHUNK = 8 * 1024 * 1024  # the page's chunk size


def add_large_slice(folder: Path, study_uid: str) -> None:
    """Add a ~9.7 MB slice (two chunks) to the study in ``folder``."""
    source = pydicom.dcmread(get_testdata_file("CT_small.dcm"))  # type: ignore[arg-type]
    source.StudyInstanceUID = study_uid
    source.SeriesInstanceUID = generate_uid()
    source.SOPInstanceUID = generate_uid()
    source.file_meta.MediaStorageSOPInstanceUID = source.SOPInstanceUID
    source.Rows = source.Columns = 2200
    source.PixelData = bytes(2200 * 2200 * 2)
    source.save_as(folder / "LARGE.dcm", enforce_file_format=True)


class StallSecondChunks:
    """Record every PATCH and stall those past the first chunk, until told to stop."""

    def __init__(self) -> None:
        self.patches: list[tuple[str, str]] = []
        self.stalled: list[str] = []
        self.stalling = True

    def __call__(self, route: Route) -> None:
        request = route.request
        if request.method == "PATCH":
            offset = request.headers.get("upload-offset", "")
            self.patches.append((request.url, offset))
            if self.stalling and offset != "0":
                self.stalled.append(request.url)
                return  # never answered: the page is closed while it waits
        route.continue_()


def test_a_reloaded_page_resumes_the_large_file_where_the_gateway_stands(
    page: Page,
    gateway_url: str,
    consortium: Consortium,
    orthanc: OrthancHandle,
    use_database: Database,
    tmp_path: Path,
) -> None:
    folder = tmp_path / "XR-study"
    study_uid, _ = make_study(folder, 1)
    add_large_slice(folder, study_uid)
    wire = StallSecondChunks()
    page.route("**/uploads/**", wire)
    sign_in(page, gateway_url, consortium.username("staff_a"), PASSWORD)
    signed_in(page)
    send_folder(page, folder, 2)
    batch = batch_of_page(page)
    for _ in range(100):  # Playwright serves the page's requests while the test waits
        if wire.stalled:
            break
        page.wait_for_timeout(100)
    assert wire.stalled, "the large file's second chunk should be on the wire"
    large_url = wire.stalled[0]

    wire.stalling = False
    page.reload()  # the clinic closes the tab mid-upload; localStorage keeps the upload URLs
    before = len(wire.patches)
    sign_in(page, gateway_url, consortium.username("staff_a"), PASSWORD)
    signed_in(page)
    send_folder(page, folder, 2)

    assert batch_of_page(page) == batch  # the same files continue the same batch
    expect(page.locator("#batches")).to_contain_text(
        "Complete: 2 files, 1 study sent", timeout=60_000
    )
    resumed = [offset for url, offset in wire.patches[before:] if url == large_url]
    assert resumed == [str(CHUNK)]  # the first 8 MiB were not sent again
    (study,) = drain(orthanc, use_database, study_uid, timeout=20)
    assert study.organization_id == consortium.clinic_a.id
    assert study.orthanc_id is not None
    assert orthanc.client.get_study(study.orthanc_id).instance_count == 2
