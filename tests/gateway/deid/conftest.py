"""Stored studies for the export tests: one patient of clinic A in a real Orthanc and database."""

from __future__ import annotations

import dataclasses
import io
import uuid
from dataclasses import dataclass

import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.uid import generate_uid

from services.models import Organization, Study
from tests.factories.study import register_study, study_facts
from tests.fixtures.consortium import Consortium, build_consortium
from tests.fixtures.databases import Database
from tests.fixtures.orthanc import OrthancHandle

PLAN = [  # file, study date, modality
    ("CT_small.dcm", "20240101"),
    ("CT_small.dcm", "20240215"),
    ("examples_palette.dcm", "20240301"),  # ultrasound: burned-in text is likely
]
NAME = "Zhang^San"


@dataclass
class Stored:
    consortium: Consortium
    other: Consortium
    studies: list[Study]
    patient_id: str


def _store(
    orthanc: OrthancHandle, name: str, patient_id: str, date: str
) -> tuple[str, pydicom.Dataset]:
    ds = pydicom.dcmread(get_testdata_file(name))  # type: ignore[arg-type]
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.PatientID, ds.PatientName, ds.StudyDate = patient_id, NAME, date
    ds.AccessionNumber = f"ACC{uuid.uuid4().hex[:8]}"
    ds.StudyDescription = f"chest {date} {NAME}"
    ds.add_new(0x00291010, "LO", "private clinic note")
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return orthanc.client.upload_instance(buffer.getvalue()).parent_study, ds


@pytest.fixture
def stored(use_database: Database, orthanc: OrthancHandle) -> Stored:
    with use_database.factory.begin() as session:
        consortium, other = build_consortium(session), build_consortium(session)
    patient_id = f"PID{uuid.uuid4().hex[:10]}"
    studies = []
    for name, date in PLAN:
        orthanc_id, ds = _store(orthanc, name, patient_id, date)
        facts = dataclasses.replace(
            study_facts(name),
            study_instance_uid=ds.StudyInstanceUID,
            orthanc_id=orthanc_id,
            patient_id=patient_id,
            patient_name=NAME,
            accession_number=ds.AccessionNumber,
            study_date=date,
        )
        with use_database.factory.begin() as session:
            clinic = session.get(Organization, consortium.clinic_a.id)
            assert clinic is not None
            studies.append(register_study(session, clinic=clinic, facts=facts)[0])
    return Stored(consortium, other, studies, patient_id)
