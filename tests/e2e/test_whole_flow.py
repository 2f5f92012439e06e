"""From a clinic's C-STORE to a signed report the clinic downloads, across real processes.

A township clinic's modality sends a CT with DCMTK storescu; the watcher registers it for that
clinic; a Celery worker runs the image-quality model on Triton; the county hospital's radiologist
finds it on the worklist with the AI result, claims it, writes and signs the report; a worker
renders the PDF; the clinic sees the study as reported and downloads the PDF.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydicom.data import get_testdata_file
from pypdf import PdfReader

from tests.e2e.conftest import Stack
from tests.fixtures.orthanc import fresh_ct, storescu

# One xdist worker runs them all, in order: they share Redis database 11 as their broker.
pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _poll(what: str, stack: Stack, probe: Callable[[], Any], timeout: float = 90) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.5)
    pytest.fail(f"timed out waiting for {what}\n{stack.log_tail()}")


def _worklist_item(
    stack: Stack, token: str, study_uid_suffix: str, ai_flag: str
) -> Callable[[], Any]:
    def probe() -> Any:
        for status in ("UNREAD", "CLAIMED"):
            items = httpx.get(
                f"{stack.api_url}/api/v1/worklist", params={"status": status}, headers=_auth(token)
            ).json()["items"]
            for item in items:
                detail = httpx.get(
                    f"{stack.api_url}/api/v1/studies/{item['study_id']}", headers=_auth(token)
                ).json()
                if (
                    detail["study_instance_uid"].endswith(study_uid_suffix)
                    and item["ai_flag"] == ai_flag
                ):
                    return item, detail
        return None

    return probe


def test_cstore_to_signed_report_downloaded_by_the_clinic(stack: Stack, tmp_path: Path) -> None:
    path, ds = fresh_ct(tmp_path)
    sent_at = time.monotonic()
    assert storescu(stack.orthanc, stack.consortium.node_a.ae_title, path).returncode == 0
    reader = stack.token("radiologist")

    item, detail = _poll(
        "the study on the worklist with its AI result",
        stack,
        _worklist_item(stack, reader, ds.StudyInstanceUID[-20:], "AI_DONE"),
    )
    time_to_ai = time.monotonic() - sent_at
    assert detail["ai_status"] == "AI_DONE"
    finding = detail["findings"][0]
    assert finding["model_name"] == "image_quality" and finding["model_version"] == "1"
    assert finding["code"].startswith("image-quality-")
    assert "exposure" in str(finding["detail"])
    assert "AI" in item["priority_reason"]

    study_id = item["study_id"]
    claimed = httpx.post(
        f"{stack.api_url}/api/v1/worklist/{item['id']}/claim", headers=_auth(reader)
    )
    assert claimed.status_code == 200, claimed.text
    other = httpx.post(
        f"{stack.api_url}/api/v1/worklist/{item['id']}/claim",
        headers=_auth(stack.token("radiologist2")),
    )
    assert other.status_code == 409
    draft = httpx.put(
        f"{stack.api_url}/api/v1/studies/{study_id}/report/draft",
        json={
            "findings": "双肺纹理清晰，未见实变影。",
            "impression": "胸部CT未见明显异常。",
            "language": "zh-CN",
        },
        headers=_auth(reader),
    )
    assert draft.status_code == 200, draft.text
    signed = httpx.post(
        f"{stack.api_url}/api/v1/studies/{study_id}/report/sign", headers=_auth(reader)
    )
    assert signed.status_code == 200, signed.text
    assert signed.json()["status"] == "FINAL"

    clinic = stack.token("staff_a")
    _poll(
        "the rendered PDF",
        stack,
        lambda: (
            httpx.get(f"{stack.api_url}/api/v1/studies/{study_id}/report", headers=_auth(clinic))
            .json()
            .get("pdf_available")
        ),
    )
    study = httpx.get(f"{stack.api_url}/api/v1/studies/{study_id}", headers=_auth(clinic)).json()
    assert study["status"] == "REPORTED"
    pdf = httpx.get(f"{stack.api_url}/api/v1/studies/{study_id}/report.pdf", headers=_auth(clinic))
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "胸部CT未见明显异常" in text

    other_clinic = stack.token("staff_b")
    assert (
        httpx.get(
            f"{stack.api_url}/api/v1/studies/{study_id}/report.pdf", headers=_auth(other_clinic)
        ).status_code
        == 404
    )
    print(
        f"\nC-STORE to AI result on the worklist: {time_to_ai:.1f} s (StableAge 1 s, broker {stack.broker})"
    )


def test_study_whose_ai_fails_still_reaches_the_worklist_marked_so(
    stack: Stack, tmp_path: Path
) -> None:
    plan = get_testdata_file("rtplan.dcm")
    assert plan is not None
    import pydicom
    from pydicom.uid import generate_uid

    ds = pydicom.dcmread(plan)
    ds.StudyInstanceUID = generate_uid()
    ds.SOPInstanceUID = generate_uid()
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    path = tmp_path / "plan.dcm"
    ds.save_as(path, enforce_file_format=True)
    assert storescu(stack.orthanc, stack.consortium.node_b.ae_title, path).returncode == 0

    item, detail = _poll(
        "the failed-AI study on the worklist",
        stack,
        _worklist_item(stack, stack.token("radiologist"), ds.StudyInstanceUID[-20:], "AI_FAILED"),
    )
    assert detail["ai_status"] == "AI_FAILED" and detail["findings"] == []
    assert "AI failed" in item["priority_reason"]


def test_upload_by_stow_is_owned_by_the_uploading_clinic(stack: Stack, tmp_path: Path) -> None:
    from dicomweb_client.api import DICOMwebClient

    _, ds = fresh_ct(tmp_path)
    client = DICOMwebClient(f"{stack.gateway_url}/dicomweb", headers=_auth(stack.token("staff_b")))
    client.store_instances([ds])

    def listed_for(key: str) -> Callable[[], Any]:
        def probe() -> Any:
            studies = httpx.get(
                f"{stack.api_url}/api/v1/studies", headers=_auth(stack.token(key))
            ).json()
            return [s for s in studies if s["study_instance_uid"] == ds.StudyInstanceUID]

        return probe

    found = _poll("the uploaded study for clinic B", stack, listed_for("staff_b"))
    assert found[0]["source"] == "stow"
    assert listed_for("staff_a")() == []
