"""The SR names the model as the registry knows it; shipped manifest.yaml as the fallback."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import highdicom as hd
import pytest

from inference.dicom import results_sr
from inference.dicom.source import OrthancInstanceSource
from inference.dicom.writer import OrthancResultWriter
from inference.pipelines.findings import FindingDraft
from inference.result_sr_job import identity, write_result_sr
from tests.fixtures.databases import Database
from tests.fixtures.orthanc import PASSWORD, USERNAME, OrthancHandle
from tests.inference.test_results_sr import dciodvfy, measurement_group, source, write
from tests.model_registry.conftest import register_checked
from tests.model_registry.manifests import chest_manifest


def parameters(sr: Any) -> list[str]:
    group = measurement_group(sr)
    return [
        item.TextValue
        for item in group[0].ContentSequence
        if item.ValueType == "TEXT"
        and item.ConceptNameCodeSequence[0].CodeMeaning == "Algorithm Parameters"
    ]


def test_registered_certified_version_is_named_with_its_registration(
    clean_registry: Database, tmp_path: Path
) -> None:
    with clean_registry.factory.begin() as session:
        register_checked(session, chest_manifest())
        model = identity(session, "chest_triage", "2")

    assert (model.vendor, model.regulatory_status) == ("Example Vendor", "certified")
    assert model.registration_number == "国械注准20233210001"
    assert model.notice == "AI-assisted, for reference (NMPA 国械注准20233210001)"
    finding = FindingDraft("cxr-nodule", "Nodule", "结节", 0.8, "significant")
    run = results_sr.AiRun(uuid.uuid4(), model, [finding], {})
    path = write(results_sr.build_report(source("CT_small.dcm"), run), tmp_path)
    sr = hd.sr.srread(path)
    assert sr.ManufacturerModelName == "chest_triage"
    assert parameters(sr)[1] == "notice=AI-assisted, for reference (NMPA 国械注准20233210001)"
    errors, _warnings = dciodvfy(path)
    assert errors == [], "\n".join(errors)


def test_unregistered_shipped_version_reads_its_manifest_yaml(clean_registry: Database) -> None:
    with clean_registry.factory() as session:
        model = identity(session, "image_quality", "1")
    assert (model.vendor, model.regulatory_status, model.registration_number) == (
        "RadBridge",
        "research-only",
        "",
    )
    assert model.notice == "AI-assisted, for reference (research use only)"


def test_unknown_version_gets_the_plain_notice_marked_unregistered(
    clean_registry: Database,
) -> None:
    with clean_registry.factory() as session:
        assert identity(session, "image_quality", "9").notice.endswith("(unregistered)")
        assert identity(session, "no_such_model", "1").regulatory_status == "research-only"


@pytest.mark.integration
def test_follow_up_for_an_unknown_job_does_nothing(
    clean_registry: Database, orthanc: OrthancHandle
) -> None:
    reader = OrthancInstanceSource(orthanc.http_url, USERNAME, PASSWORD)
    writer = OrthancResultWriter(orthanc.http_url, USERNAME, PASSWORD)
    before = orthanc.client.instance_count()
    try:
        assert write_result_sr(uuid.uuid4(), source=reader, writer=writer) == "skipped"
    finally:
        reader.close()
        writer.close()
    assert orthanc.client.instance_count() == before


def test_radiograph_without_orientation_still_gets_a_valid_sr(tmp_path: Path) -> None:
    image = source("CT_small.dcm")
    image.Modality = "DX"  # a DX without PatientOrientation / ImagerPixelSpacing, as in the field
    model = results_sr.model_identity("image_quality", "1")
    finding = FindingDraft(
        "image-quality-adequate", "Image quality adequate", "合格", 0.9, "normal"
    )
    run = results_sr.AiRun(uuid.uuid4(), model, [finding], {})

    path = write(results_sr.build_report(image, run), tmp_path)

    errors, _warnings = dciodvfy(path)
    assert errors == [], "\n".join(errors)
    (group_image,) = measurement_group(hd.sr.srread(path)).source_images
    assert group_image.referenced_sop_instance_uid == image.SOPInstanceUID
