"""Studies for tests: facts read from real pydicom test files, registered like the gateway does.

Each call gets a fresh StudyInstanceUID (and SeriesInstanceUID), so tests sharing a database do
not collide on the ``(tenant_id, study_instance_uid)`` key.
"""

from __future__ import annotations

import dataclasses

import pydicom
from pydicom.data import get_testdata_file
from pydicom.uid import generate_uid
from sqlalchemy.orm import Session

from services.contracts.ingest import SeriesFacts, StudyFacts
from services.kit.settings import get_settings
from services.models import Organization, Study
from services.study import service as study_service
from services.study.routing import configured_routes

DEFAULT_FILE = "CT_small.dcm"


def _read(testdata_file: str) -> pydicom.Dataset:
    path = get_testdata_file(testdata_file)
    assert path is not None, f"pydicom test file {testdata_file} is not installed"
    return pydicom.dcmread(path, stop_before_pixels=True)


def _text(ds: pydicom.Dataset, keyword: str) -> str:
    value = ds.get(keyword)
    return "" if value is None else str(value)


def series_facts(testdata_file: str = DEFAULT_FILE, *, modality: str | None = None) -> SeriesFacts:
    """Return one series (one instance) read from a pydicom test file, with a fresh UID."""
    ds = _read(testdata_file)
    return SeriesFacts(
        series_instance_uid=generate_uid(),
        orthanc_id=None,
        modality=modality or _text(ds, "Modality"),
        body_part=_text(ds, "BodyPartExamined"),
        description=_text(ds, "SeriesDescription"),
        instance_count=1,
    )


def study_facts(testdata_file: str = DEFAULT_FILE, *, modality: str | None = None) -> StudyFacts:
    """Return the facts of a pydicom test file's study, under a fresh StudyInstanceUID.

    ``modality`` overrides the file's Modality, e.g. to get a study no AI model applies to.
    """
    ds = _read(testdata_file)
    return StudyFacts(
        study_instance_uid=generate_uid(),
        orthanc_id=None,
        patient_id=_text(ds, "PatientID"),
        patient_name=_text(ds, "PatientName"),
        patient_sex=_text(ds, "PatientSex"),
        patient_birth_date=_text(ds, "PatientBirthDate"),
        accession_number=_text(ds, "AccessionNumber"),
        study_date=_text(ds, "StudyDate"),
        description=_text(ds, "StudyDescription"),
        series=(series_facts(testdata_file, modality=modality),),
    )


def with_late_series(facts: StudyFacts, testdata_file: str = DEFAULT_FILE) -> StudyFacts:
    """Return ``facts`` plus one series, as when instances arrive after the study was stable."""
    return dataclasses.replace(facts, series=(*facts.series, series_facts(testdata_file)))


def register_study(
    session: Session, *, clinic: Organization, facts: StudyFacts | None = None
) -> tuple[Study, bool]:
    """Register a study for ``clinic`` with the configured AI routes, like the gateway does."""
    return study_service.register(
        session,
        clinic=clinic,
        facts=facts or study_facts(),
        source="dicom",
        routes=configured_routes(get_settings()),
    )
