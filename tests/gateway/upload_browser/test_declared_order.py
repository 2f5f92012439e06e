"""Urgency and patient type picked on the upload page reach the worklist item.

The page's selectors go as tus metadata with every file; the change-feed watcher registers the
study, and a radiologist reads the item through the API. pydicom's CT_small carries neither
Requested Procedure Priority nor a patient location, so what the item shows came from the page.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from services.domain.roles import Role
from tests.factories.tenant import Account
from tests.fixtures.api_client import Api
from tests.fixtures.consortium import PASSWORD, Consortium
from tests.fixtures.databases import Database
from tests.fixtures.orthanc import OrthancHandle
from tests.gateway.upload.conftest import drain, make_study
from tests.gateway.upload_browser.page_actions import send_folder, sign_in, signed_in

pytestmark = pytest.mark.integration
FILES = 2


def _radiologist(consortium: Consortium) -> Account:
    user = consortium.users["radiologist"]
    return Account(user.username, PASSWORD, user.id, user.organization_id, Role.RADIOLOGIST)


def test_stat_emergency_picked_on_the_page_reaches_the_worklist_item(
    *,
    page: Page,
    gateway_url: str,
    consortium: Consortium,
    orthanc: OrthancHandle,
    use_database: Database,
    api: Api,
    tmp_path: Path,
) -> None:
    study_uid, _ = make_study(tmp_path / "CR-study", FILES)
    sign_in(page, gateway_url, consortium.username("staff_a"), PASSWORD)
    signed_in(page)
    expect(page.locator("#urgency")).to_have_value("")  # not declared unless picked
    expect(page.locator("#patient-type")).to_have_value("")

    page.select_option("#urgency", "stat")
    page.select_option("#patient-type", "emergency")
    send_folder(page, tmp_path / "CR-study", FILES)

    expect(page.locator("#batches")).to_contain_text(
        f"Complete: {FILES} files, 1 study sent (urgency STAT, patient type emergency; batch",
        timeout=60_000,
    )
    sent = page.evaluate(
        "window.radbridgeUppy.getFiles().map(f => [f.meta.urgency, f.meta['patient-type']])"
    )
    assert sent == [["stat", "emergency"]] * FILES
    (study,) = drain(orthanc, use_database, study_uid, timeout=20)
    assert (study.urgency, study.patient_type) == ("stat", "emergency")

    response = api.get(_radiologist(consortium), "/api/v1/worklist", patient_type="emergency")
    assert response.status_code == 200, response.text
    (item,) = [i for i in response.json()["items"] if i["study_id"] == str(study.id)]
    assert item["patient_type"] == "emergency"
    assert "STAT" in item["priority_reason"]
