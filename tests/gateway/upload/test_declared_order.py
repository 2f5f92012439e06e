"""Urgency and patient type declared at upload reach the worklist item (STOW-RS, tus, CLI).

Real gateway under uvicorn, real Orthanc, the change-feed watcher registering the study, and
``radbridge upload`` as a subprocess. The DICOM (pydicom's CT_small) carries neither Requested
Procedure Priority nor a patient location, so whatever the item shows came from the upload.
"""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from services.models import QuarantineItem, Study, StudyOrigin, WorklistItem
from services.worklist import repository
from tests.fixtures.consortium import Consortium
from tests.fixtures.databases import Database
from tests.fixtures.multipart import multipart_related
from tests.fixtures.orthanc import OrthancHandle
from tests.gateway.upload.conftest import ROOT, ClinicUpload, drain, make_study, token_for
from tests.gateway.upload.tus import Tus

pytestmark = pytest.mark.integration


def _stow(url: str, token: str, paths: list[Path], **params: str) -> httpx.Response:
    body, content_type = multipart_related([p.read_bytes() for p in paths])
    return httpx.post(
        f"{url}/dicomweb/studies",
        params=params,
        content=body,
        headers={"Content-Type": content_type, "Authorization": f"Bearer {token}"},
        timeout=60,
    )


def _item(db: Database, study: Study) -> WorklistItem:
    with db.factory() as session:
        item = session.scalar(select(WorklistItem).where(WorklistItem.study_id == study.id))
    assert item is not None
    return item


def _registered(orthanc: OrthancHandle, db: Database, study_uid: str) -> Study:
    (study,) = drain(orthanc, db, study_uid, timeout=20)
    return study


def _filtered_ids(db: Database, consortium: Consortium, patient_type: str) -> set[uuid.UUID]:
    """The hospital's UNREAD items under the worklist's patient-type filter."""
    conditions = repository.QueueFilter(
        tenant_id=consortium.tenant.id,
        reader_org_id=consortium.hospital.id,
        patient_type=patient_type,
    )
    with db.factory() as session:
        rows = repository.queue_page(session, conditions, after=None, limit=100)
    return {row.study_id for row in rows}


class TestStow:
    def test_declared_stat_emergency_reaches_the_item_and_outranks_an_undeclared_twin(
        self,
        gateway_url: str,
        consortium: Consortium,
        orthanc: OrthancHandle,
        use_database: Database,
        tmp_path: Path,
    ) -> None:
        token = token_for(consortium, "staff_a")
        declared_uid, declared_paths = make_study(tmp_path / "declared", 2)
        plain_uid, plain_paths = make_study(tmp_path / "plain", 2)

        sent = _stow(gateway_url, token, declared_paths, urgency="STAT", patient_type="emergency")
        plain = _stow(gateway_url, token, plain_paths)

        assert (sent.status_code, plain.status_code) == (200, 200), sent.text
        study = _registered(orthanc, use_database, declared_uid)
        twin = _registered(orthanc, use_database, plain_uid)
        assert (study.urgency, study.patient_type) == ("stat", "emergency")
        assert (twin.urgency, twin.patient_type) == ("routine", "outpatient")
        item, twin_item = _item(use_database, study), _item(use_database, twin)
        assert item.patient_type == "emergency"
        assert "STAT" in item.priority_reason
        assert item.priority > twin_item.priority
        emergency = _filtered_ids(use_database, consortium, "emergency")
        assert study.id in emergency and twin.id not in emergency

    def test_unknown_urgency_is_422_and_nothing_is_stored(
        self,
        gateway_url: str,
        consortium: Consortium,
        orthanc: OrthancHandle,
        use_database: Database,
        tmp_path: Path,
    ) -> None:
        token = token_for(consortium, "staff_a")
        study_uid, paths = make_study(tmp_path, 1)

        bad_urgency = _stow(gateway_url, token, paths, urgency="asap")
        bad_type = _stow(gateway_url, token, paths, patient_type="vip")

        for response, word in ((bad_urgency, "stat, urgent, routine"), (bad_type, "health_check")):
            assert response.status_code == 422, response.text
            assert response.json()["error"] == "unknown_declared_value"
            assert word in response.json()["message"]
        assert drain(orthanc, use_database, study_uid, timeout=3) == []  # StableAge is 1 s
        with use_database.factory() as session:
            held = session.scalars(
                select(QuarantineItem).where(
                    QuarantineItem.organization_id == consortium.clinic_a.id
                )
            ).all()
            origins = session.scalars(
                select(StudyOrigin).where(StudyOrigin.organization_id == consortium.clinic_a.id)
            ).all()
        assert (held, origins) == ([], [])


class TestTus:
    def test_upload_metadata_declares_urgent_inpatient(
        self,
        tus: Tus,
        consortium: Consortium,
        orthanc: OrthancHandle,
        use_database: Database,
        tmp_path: Path,
    ) -> None:
        study_uid, paths = make_study(tmp_path, 2)
        for path in paths:
            tus.send(
                path.read_bytes(),
                filename=path.name,
                batch="urgent-ip",
                batch_files="2",
                urgency="urgent",
                patient_type="inpatient",
            )

        study = _registered(orthanc, use_database, study_uid)

        assert (study.urgency, study.patient_type, study.source) == (
            "urgent",
            "inpatient",
            "upload",
        )
        item = _item(use_database, study)
        assert item.patient_type == "inpatient"
        assert "URGENT" in item.priority_reason
        assert study.id in _filtered_ids(use_database, consortium, "inpatient")

    def test_unknown_patient_type_is_refused_before_any_byte(self, tus: Tus) -> None:
        response = tus.create(10, urgency="stat", patient_type="walk-in")

        assert response.status_code == 422, response.text
        assert response.json()["error"] == "unknown_declared_value"
        assert "outpatient, emergency, inpatient, health_check" in response.json()["message"]


def _run(argv: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=240)


@pytest.mark.e2e
class TestCli:
    def test_radbridge_upload_declares_stat_emergency(
        self,
        clinic_upload: ClinicUpload,
        consortium: Consortium,
        orthanc: OrthancHandle,
        use_database: Database,
        tmp_path: Path,
    ) -> None:
        study_uid, _ = make_study(tmp_path / "export", 3)

        result = _run(
            clinic_upload.argv(
                tmp_path / "export", "--urgency", "stat", "--patient-type", "emergency"
            )
        )

        assert result.returncode == 0, result.stderr
        study = _registered(orthanc, use_database, study_uid)
        assert (study.urgency, study.patient_type) == ("stat", "emergency")
        item = _item(use_database, study)
        assert item.patient_type == "emergency" and "STAT" in item.priority_reason
        assert study.id in _filtered_ids(use_database, consortium, "emergency")

    def test_an_unknown_urgency_stops_the_cli_before_uploading(
        self, clinic_upload: ClinicUpload, tmp_path: Path
    ) -> None:
        make_study(tmp_path / "export", 1)

        result = _run(clinic_upload.argv(tmp_path / "export", "--urgency", "now"))

        assert result.returncode == 2
        assert "Unknown urgency 'now'" in result.stderr
        assert not clinic_upload.state.exists()
