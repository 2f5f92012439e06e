"""A C-STORE'd radiograph is routed by its view: the series facts come from Orthanc's tags.

Real Orthanc 1.10 (DCMTK storescu as the clinic), the ingest watcher and a real database; the
registry holds a frontal-chest model whose rules need ViewPosition PA or AP.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from gateway.ingest.series_tags import orientation, series_facts
from gateway.ingest.watcher import FEED, ChangeWatcher
from gateway.orthanc.aliases import node_alias
from services.change_feed import service as cursor
from services.contracts.ingest import SeriesFacts
from services.inference_job import service as job_service
from services.kit.settings import get_settings
from services.model_registry import service as registry
from services.models import Series, Study
from services.study.routing import configured_routes
from tests.fixtures.consortium import Consortium
from tests.fixtures.databases import Database
from tests.fixtures.orthanc import OrthancHandle, fresh_ct, last_seq, storescu
from tests.model_registry.conftest import register_checked
from tests.model_registry.manifests import chest_manifest

DX_FOR_PRESENTATION = "1.2.840.10008.5.1.4.1.1.1.1"


class CountingOrthanc:
    """The real Orthanc client, counting the tag reads routing costs per registration pass.

    A pass reads the study once (``get_study``); under load the watcher may see the study's
    stable event more than once, so reads are compared with passes, not with a fixed number.
    """

    def __init__(self, inner: Any) -> None:
        self._inner, self.tag_reads, self.study_reads = inner, 0, 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def get_study(self, orthanc_id: str) -> Any:
        self.study_reads += 1
        return self._inner.get_study(orthanc_id)

    def get_instance_tags(self, instance_id: str) -> dict[str, str]:
        self.tag_reads += 1
        return dict(self._inner.get_instance_tags(instance_id))


@pytest.fixture
def linked(
    clean_registry: Database, consortium: Consortium, orthanc: OrthancHandle
) -> Iterator[Consortium]:
    node = consortium.node_a
    orthanc.client.set_modality(node_alias(node.id), node.ae_title, node.host, node.port)
    with clean_registry.factory.begin() as session:
        cursor.advance(session, FEED, last_seq(orthanc))
        register_checked(session, chest_manifest())
        registry.subscribe(session, tenant_id=consortium.tenant.id, model_name="chest_triage")
    yield consortium
    orthanc.client.delete_modality(node_alias(node.id))


def store_radiograph(
    orthanc: OrthancHandle, consortium: Consortium, db: Database, folder: Path, view: str
) -> tuple[Study, CountingOrthanc]:
    """C-STORE a chest DX taken in ``view`` and run the watcher until it is registered."""
    path, dataset = fresh_ct(
        folder,
        Modality="DX",
        SOPClassUID=DX_FOR_PRESENTATION,
        ViewPosition=view,
        BodyPartExamined="CHEST",
    )
    assert storescu(orthanc, consortium.node_a.ae_title, path).returncode == 0
    client = CountingOrthanc(orthanc.client)
    watcher = ChangeWatcher(client, configured_routes(get_settings()), db.factory)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        watcher.run_once()
        with db.factory() as session:
            study = session.scalar(
                select(Study).where(Study.study_instance_uid == dataset.StudyInstanceUID)
            )
        if study is not None:
            return study, client
        time.sleep(0.3)
    pytest.fail("the C-STORE'd radiograph was not registered within 20 s")


@pytest.mark.integration
def test_frontal_chest_radiograph_is_routed_to_the_frontal_model(
    linked: Consortium, orthanc: OrthancHandle, clean_registry: Database, tmp_path: Path
) -> None:
    study, client = store_radiograph(orthanc, linked, clean_registry, tmp_path, "PA")

    assert 1 <= client.tag_reads <= client.study_reads  # one series: at most one read a pass
    with clean_registry.factory() as session:
        (series,) = session.scalars(select(Series).where(Series.study_id == study.id))
        (job,) = job_service.jobs_of_study(session, study.id)
    assert (series.view_position, series.sop_class_uid) == ("PA", DX_FOR_PRESENTATION)
    assert (job.model_name, job.model_version) == ("chest_triage", "2")
    assert job.input_series_uid == series.series_instance_uid
    assert study.ai_status == "AI_PENDING"


@pytest.mark.integration
def test_lateral_chest_radiograph_is_skipped_with_the_reason(
    linked: Consortium, orthanc: OrthancHandle, clean_registry: Database, tmp_path: Path
) -> None:
    study, _client = store_radiograph(orthanc, linked, clean_registry, tmp_path, "LL")

    with clean_registry.factory() as session:
        assert job_service.jobs_of_study(session, study.id) == []
    assert study.ai_status == "AI_SKIPPED"
    assert "chest_triage" in study.ai_status_reason


def test_plane_follows_the_slice_normal() -> None:
    assert orientation("1\\0\\0\\0\\1\\0") == "axial"
    assert orientation("1\\0\\0\\0\\0\\-1") == "coronal"
    assert orientation("0\\1\\0\\0\\0\\-1") == "sagittal"
    assert orientation("1\\0\\0\\0\\0.7071\\0.7071") == ""  # 45 degrees: oblique
    assert orientation("") == orientation("a\\b") == ""


def test_series_facts_take_the_routing_tags() -> None:
    base = SeriesFacts(series_instance_uid="1.2", orthanc_id="x", modality="CT")
    tags = {
        "SOPClassUID": "1.2.840.10008.5.1.4.1.1.2",
        "ImageOrientationPatient": "1\\0\\0\\0\\1\\0",
        "SliceThickness": "1.25",
        "ViewPosition": "",
    }
    facts = series_facts(base, tags)
    assert (facts.sop_class_uid, facts.orientation, facts.slice_thickness) == (
        "1.2.840.10008.5.1.4.1.1.2",
        "axial",
        1.25,
    )
    assert facts.view_position == ""
    assert series_facts(base, {"SliceThickness": "0"}).slice_thickness is None


def test_order_facts_come_from_the_first_instance_that_has_them() -> None:
    from gateway.ingest.series_tags import with_order_facts
    from services.contracts.ingest import StudyFacts

    facts = StudyFacts("1.2.3", None, "P", "N", "M", "", "", "", "")
    tags = {"CurrentPatientLocation": "Ward 3 / 内科三病区", "RequestedProcedurePriority": "stat"}
    filled = with_order_facts(facts, tags)
    assert (filled.patient_location, filled.admission_id, filled.requested_priority) == (
        "Ward 3 / 内科三病区",
        "",
        "STAT",
    )
    again = with_order_facts(filled, {"CurrentPatientLocation": "ER", "AdmissionID": "A9"})
    assert (again.patient_location, again.admission_id) == ("Ward 3 / 内科三病区", "A9")
