"""A one-file Enhanced CT series is routed like the classic axial CT series it was made from.

Real components: DCMTK storescu as the clinic's CT, the gateway's DICOM SCP (the clinics' door;
Orthanc 1.10's own SCP refuses Legacy Converted Enhanced CT), Orthanc 1.10, the ingest watcher
and a real database (SQLite and PostgreSQL). The registry holds the shipped lung nodule model (axial CT of the chest, at least 20 slices, the
thinnest series). The enhanced series are Legacy Converted Enhanced CT objects that highdicom
builds from classic slices: Number of Frames counts the slices, and the plane and the slice
thickness sit only in the functional groups.
"""

from __future__ import annotations

import io
import time
from pathlib import Path
from typing import Any

import highdicom as hd
import pydicom
import pytest
import yaml
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid
from sqlalchemy import select

from gateway.ingest.watcher import FEED, ChangeWatcher
from inference.models.repository import model_repository_source
from services.change_feed import service as cursor
from services.inference_job import service as job_service
from services.kit.settings import get_settings
from services.model_registry import service as registry
from services.models import Series, Study
from services.study.routing import configured_routes
from tests.fixtures.consortium import Consortium
from tests.fixtures.databases import Database
from tests.fixtures.orthanc import STORESCU, OrthancHandle, last_seq, run_dcmtk
from tests.gateway.ingest_identity.conftest import Scp
from tests.inference.test_volume import ct_series
from tests.model_registry.conftest import register_checked

NODULE_MANIFEST = model_repository_source() / "nodule_vdt" / "manifest.yaml"
LEGACY_ENHANCED_CT = "1.2.840.10008.5.1.4.1.1.2.2"


class CountingOrthanc:
    """The real Orthanc client, counting the reads the enhanced facts add to a pass."""

    def __init__(self, inner: Any) -> None:
        self._inner, self.value_reads, self.frame_reads, self.study_reads = inner, 0, 0, 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def get_study(self, orthanc_id: str) -> Any:
        self.study_reads += 1
        return self._inner.get_study(orthanc_id)

    def get_instance_value(self, instance_id: str, path: Any) -> str | None:
        self.value_reads += 1
        value: str | None = self._inner.get_instance_value(instance_id, path)
        return value

    def series_frame_counts(self, series_id: str) -> list[int]:
        self.frame_reads += 1
        return list(self._inner.series_frame_counts(series_id))


@pytest.fixture
def linked(clean_registry: Database, consortium: Consortium, orthanc: OrthancHandle) -> Consortium:
    """The consortium subscribed to the shipped nodule model; only this test's changes count."""
    with clean_registry.factory.begin() as session:
        cursor.advance(session, FEED, last_seq(orthanc))
        manifest = yaml.safe_load(NODULE_MANIFEST.read_text(encoding="utf-8"))
        # Shipped, it runs on signed reports; routed at ingest here, as the CT model whose
        # slice rules this test is about.
        manifest["match"]["trigger"] = "new_study"
        register_checked(session, manifest)
        registry.subscribe(session, tenant_id=consortium.tenant.id, model_name="nodule_vdt")
    return consortium


def classic(study_uid: str, count: int, thickness: float) -> list[Dataset]:
    """``count`` axial chest CT slices of one new series, ``thickness`` mm thick and apart."""
    series_uid = generate_uid()
    slices = ct_series(count, thickness)
    for ds in slices:
        ds.StudyInstanceUID, ds.SeriesInstanceUID = study_uid, series_uid
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        ds.BodyPartExamined, ds.SliceThickness = "CHEST", f"{thickness:g}"
    return slices


def enhanced(study_uid: str, frames: int, thickness: float) -> Dataset:
    """One Legacy Converted Enhanced CT holding ``frames`` classic slices."""
    converted = hd.legacy.LegacyConvertedEnhancedCTImage(
        legacy_datasets=classic(study_uid, frames, thickness),
        series_instance_uid=generate_uid(),
        series_number=900,
        sop_instance_uid=generate_uid(),
        instance_number=1,
    )
    converted.BodyPartExamined = "CHEST"  # highdicom leaves this optional attribute out
    buffer = io.BytesIO()
    converted.save_as(buffer)
    ds = pydicom.dcmread(io.BytesIO(buffer.getvalue()))
    assert "ImageOrientationPatient" not in ds and "SliceThickness" not in ds
    return ds


def send_study(
    gateway: Scp,
    orthanc: OrthancHandle,
    consortium: Consortium,
    db: Database,
    folder: Path,
    objects: list[Any],
) -> tuple[Study, CountingOrthanc]:
    """C-STORE every object to the gateway at once; run the watcher until it is registered."""
    paths = []
    for ds in objects:
        path = folder / f"{ds.SOPInstanceUID}.dcm"
        ds.save_as(path, enforce_file_format=True)
        paths.append(path)
    # -R: propose only the files' own SOP classes, as a CT does; storescu's default list of
    # 128 presentation contexts has no room for Legacy Converted Enhanced CT.
    sent = run_dcmtk(
        STORESCU,
        "-R",
        "-aet",
        consortium.node_a.ae_title,
        "-aec",
        gateway.ae_title,
        "127.0.0.1",
        gateway.port,
        *paths,
        timeout=60,
    )
    assert sent.returncode == 0, sent.stdout + sent.stderr
    client = CountingOrthanc(orthanc.client)
    watcher = ChangeWatcher(client, configured_routes(get_settings()), db.factory)
    study_uid = objects[0].StudyInstanceUID
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        watcher.run_once()
        with db.factory() as session:
            study = session.scalar(select(Study).where(Study.study_instance_uid == study_uid))
        if study is not None:
            return study, client
        time.sleep(0.3)
    pytest.fail("the C-STORE'd CT study was not registered within 30 s")


def series_of(db: Database, study: Study) -> dict[str, Series]:
    with db.factory() as session:
        rows = session.scalars(select(Series).where(Series.study_id == study.id))
        return {row.series_instance_uid: row for row in rows}


@pytest.mark.integration
def test_a_one_file_enhanced_ct_of_24_frames_gets_the_nodule_job(
    linked: Consortium,
    scp: Scp,
    orthanc: OrthancHandle,
    clean_registry: Database,
    tmp_path: Path,
) -> None:
    ds = enhanced(generate_uid(), frames=24, thickness=1.25)
    study, client = send_study(scp, orthanc, linked, clean_registry, tmp_path, [ds])

    row = series_of(clean_registry, study)[ds.SeriesInstanceUID]
    assert (row.sop_class_uid, row.instance_count, row.slice_count) == (LEGACY_ENHANCED_CT, 1, 24)
    assert (row.orientation, row.slice_thickness) == ("axial", 1.25)
    with clean_registry.factory() as session:
        (job,) = job_service.jobs_of_study(session, study.id)
    assert (job.model_name, job.input_series_uid) == ("nodule_vdt", ds.SeriesInstanceUID)
    assert study.ai_status == "AI_PENDING"
    # Shared groups hold both facts: two value reads and one frame count per registration pass.
    assert 1 <= client.frame_reads <= client.study_reads
    assert 2 <= client.value_reads <= 2 * client.study_reads


@pytest.mark.integration
def test_too_few_frames_is_skipped_with_the_slice_count_as_reason(
    linked: Consortium,
    scp: Scp,
    orthanc: OrthancHandle,
    clean_registry: Database,
    tmp_path: Path,
) -> None:
    ds = enhanced(generate_uid(), frames=12, thickness=1.25)
    study, _client = send_study(scp, orthanc, linked, clean_registry, tmp_path, [ds])

    with clean_registry.factory() as session:
        assert job_service.jobs_of_study(session, study.id) == []
    assert study.ai_status == "AI_SKIPPED"
    assert "nodule_vdt" in study.ai_status_reason and "12 slice(s)" in study.ai_status_reason


@pytest.mark.integration
def test_thinnest_choice_over_mixed_classic_and_enhanced_series(
    linked: Consortium,
    scp: Scp,
    orthanc: OrthancHandle,
    clean_registry: Database,
    tmp_path: Path,
) -> None:
    study_uid = generate_uid()
    thick_classic = classic(study_uid, 22, 5.0)
    thin_enhanced = enhanced(study_uid, frames=22, thickness=1.25)
    thinnest_but_few = enhanced(study_uid, frames=8, thickness=0.625)
    study, _client = send_study(
        scp,
        orthanc,
        linked,
        clean_registry,
        tmp_path,
        [*thick_classic, thin_enhanced, thinnest_but_few],
    )

    rows = series_of(clean_registry, study)
    assert rows[thick_classic[0].SeriesInstanceUID].instance_count == 22
    assert rows[thick_classic[0].SeriesInstanceUID].slice_count is None  # classic: 1 per file
    assert rows[thinnest_but_few.SeriesInstanceUID].slice_count == 8
    with clean_registry.factory() as session:
        (job,) = job_service.jobs_of_study(session, study.id)
    assert job.input_series_uid == thin_enhanced.SeriesInstanceUID


@pytest.mark.integration
def test_a_thinner_classic_series_still_wins_over_an_enhanced_one(
    linked: Consortium,
    scp: Scp,
    orthanc: OrthancHandle,
    clean_registry: Database,
    tmp_path: Path,
) -> None:
    study_uid = generate_uid()
    thin_classic = classic(study_uid, 21, 1.0)
    thick_enhanced = enhanced(study_uid, frames=40, thickness=3.0)
    study, _client = send_study(
        scp, orthanc, linked, clean_registry, tmp_path, [*thin_classic, thick_enhanced]
    )

    rows = series_of(clean_registry, study)
    assert (
        rows[thick_enhanced.SeriesInstanceUID].slice_count,
        rows[thick_enhanced.SeriesInstanceUID].slice_thickness,
    ) == (40, 3.0)
    with clean_registry.factory() as session:
        (job,) = job_service.jobs_of_study(session, study.id)
    assert job.input_series_uid == thin_classic[0].SeriesInstanceUID
