"""The signed report stored into its own study in a real Orthanc, as SR and Encapsulated PDF."""

from __future__ import annotations

import dataclasses
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pydicom
import pytest
from fastapi.testclient import TestClient

from gateway.ingest.patient_namespace import prefix
from gateway.report_objects.store import store_report_objects
from services.api.app import create_app
from services.contracts.ai_results import is_radbridge_output_series
from services.contracts.task_names import STORE_REPORT_OBJECTS
from services.kit import db as kit_db
from services.kit.db import session_scope
from services.kit.settings import get_settings
from services.models import Report, Study
from services.report.rendering import render_and_store
from tests.factories import study as study_factory
from tests.factories import tenant as tenant_factory
from tests.factories.tenant import Consortium
from tests.fixtures.api_client import Api
from tests.fixtures.databases import Database
from tests.fixtures.orthanc import OrthancHandle, fresh_ct, study_id_of
from tests.services.test_api_flow import _sign

pytestmark = pytest.mark.integration


@pytest.fixture
def api(use_database: Database) -> Iterator[Api]:
    with TestClient(create_app()) as client:
        yield Api(client)


def _study_in_orthanc(
    orthanc: OrthancHandle, db: Database, consortium: Consortium, folder: Path
) -> tuple[Study, str]:
    """Store a CT in Orthanc under the clinic's namespaced PatientID and register it."""
    clinic = consortium.clinic_a
    namespaced = prefix(clinic.id).decode() + "PAT-0042"
    path, dataset = fresh_ct(folder, PatientID=namespaced, PatientName="ZHANG^SAN=张^三")
    orthanc.client.upload_instance(path.read_bytes())
    orthanc_study = study_id_of(dataset)
    facts = study_factory.study_facts()
    facts = dataclasses.replace(
        facts,
        study_instance_uid=str(dataset.StudyInstanceUID),
        orthanc_id=orthanc_study,
        patient_id="PAT-0042",
    )
    with session_scope(db.factory) as session:
        study, _ = study_factory.register_study(session, clinic=clinic, facts=facts)
    return study, orthanc_study


def test_signed_report_lands_in_its_study_and_validates(
    api: Api, use_database: Database, orthanc: OrthancHandle, tmp_path: Path
) -> None:
    consortium = tenant_factory.build_consortium(use_database.factory)
    study, orthanc_study = _study_in_orthanc(orthanc, use_database, consortium, tmp_path)
    response = _sign(api, consortium.radiologist, study)
    assert response.status_code == 200, response.text
    report_id = uuid.UUID(response.json()["id"])
    with session_scope(use_database.factory) as session:
        assert render_and_store(session, get_settings(), report_id=report_id)
    queued = [m for m in kit_db.PUBLISHER.sent if m.task_name == STORE_REPORT_OBJECTS]
    assert [m.kwargs["report_id"] for m in queued] == [str(report_id)]
    with session_scope(use_database.factory) as session:
        stored = store_report_objects(session, get_settings(), orthanc.client, report_id=report_id)
    assert stored is not None
    assert stored.statuses == ("Success", "Success")
    info = orthanc.client.get_study(orthanc_study)  # same Orthanc study: same patient there
    ours = [s for s in info.series if is_radbridge_output_series(s.modality, s.series_description)]
    assert sorted(s.modality for s in ours) == ["DOC", "SR"]
    for series in ours:
        data = orthanc.client.get_instance_file(series.instance_ids[0])
        path = tmp_path / f"{series.modality}.dcm"
        path.write_bytes(data)
        check = subprocess.run(["dciodvfy", str(path)], capture_output=True, text=True)
        errors = [line for line in check.stderr.splitlines() if line.startswith("Error")]
        assert errors == [], check.stderr
    sr = pydicom.dcmread(tmp_path / "SR.dcm")
    assert sr.PatientID == info.patient_id
    assert sr.VerificationFlag == "VERIFIED"
    assert sr.VerifyingObserverSequence[0].VerificationDateTime
    evidence = sr.CurrentRequestedProcedureEvidenceSequence[0]
    assert evidence.StudyInstanceUID == study.study_instance_uid
    referenced = evidence.ReferencedSeriesSequence[0].ReferencedSOPSequence[0]
    assert referenced.ReferencedSOPClassUID == "1.2.840.10008.5.1.4.1.1.2"  # CT Image Storage
    texts = [item.ContentSequence[0].TextValue for item in sr.ContentSequence[1:]]
    with use_database.factory() as session:
        report = session.get(Report, report_id)
        assert report is not None
        assert texts == [report.findings.strip(), report.impression.strip()]
    with session_scope(use_database.factory) as session:  # a rerun stores nothing new
        again = store_report_objects(session, get_settings(), orthanc.client, report_id=report_id)
    assert again is not None
    assert again.statuses == ("AlreadyStored", "AlreadyStored")
    assert len(orthanc.client.get_study(orthanc_study).series) == len(info.series)


def test_a_draft_or_unrendered_report_is_not_stored(
    api: Api, use_database: Database, orthanc: OrthancHandle, tmp_path: Path
) -> None:
    consortium = tenant_factory.build_consortium(use_database.factory)
    study, _ = _study_in_orthanc(orthanc, use_database, consortium, tmp_path)
    response = _sign(api, consortium.radiologist, study)
    report_id = uuid.UUID(response.json()["id"])
    with session_scope(use_database.factory) as session:  # signed, but no PDF yet
        assert (
            store_report_objects(session, get_settings(), orthanc.client, report_id=report_id)
            is None
        )
