"""What the page sends: a zip as one file, DICOM files of a CD folder, nothing else."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from pydicom.data import get_testdata_file

from tests.fixtures.consortium import PASSWORD, Consortium
from tests.fixtures.databases import Database
from tests.fixtures.orthanc import OrthancHandle
from tests.gateway.upload.conftest import drain, make_study
from tests.gateway.upload_browser.page_actions import (
    FILES_INPUT,
    send_folder,
    sign_in,
    signed_in,
)

pytestmark = pytest.mark.integration


def test_a_zip_of_a_study_is_sent_as_one_file(
    page: Page,
    gateway_url: str,
    consortium: Consortium,
    orthanc: OrthancHandle,
    use_database: Database,
    tmp_path: Path,
) -> None:
    study_uid, paths = make_study(tmp_path / "slices", 3)
    archive = tmp_path / "study.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for path in paths:
            zipped.write(path, f"CT/{path.name}")
    sign_in(page, gateway_url, consortium.username("staff_a"), PASSWORD)
    signed_in(page)

    page.set_input_files(FILES_INPUT, archive)
    page.click(".uppy-StatusBar-actionBtn--upload")

    expect(page.locator("#batches")).to_contain_text("Complete: 1 file, 1 study sent")
    (study,) = drain(orthanc, use_database, study_uid, timeout=20)
    assert study.orthanc_id is not None
    assert orthanc.client.get_study(study.orthanc_id).instance_count == 3


def test_a_cd_folder_sends_its_dicom_files_and_leaves_out_the_rest(
    page: Page, gateway_url: str, consortium: Consortium, tmp_path: Path
) -> None:
    folder = tmp_path / "CD"
    make_study(folder, 2)
    shutil.copy(get_testdata_file("DICOMDIR"), folder / "DICOMDIR")  # type: ignore[arg-type]
    (folder / "README.TXT").write_text("Viewer: run VIEWER.EXE")
    sign_in(page, gateway_url, consortium.username("staff_a"), PASSWORD)
    signed_in(page)

    send_folder(page, folder, 2)

    expect(page.locator("#batches")).to_contain_text("Complete: 2 files, 1 study sent")
    skipped = page.locator("#skipped")
    expect(skipped).to_contain_text("Left out (not DICOM or a zip): CD/DICOMDIR")
    expect(skipped).to_contain_text("Left out (not DICOM or a zip): CD/README.TXT")
    expect(page.locator("#errors")).to_be_empty()
