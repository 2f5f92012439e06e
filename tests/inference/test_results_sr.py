"""The AI result SR on real pydicom images: valid per dciodvfy, readable by highdicom, labelled.

dciodvfy (Debian package dicom3tools) is an independent validator of the DICOM IODs; its
warnings are printed, its errors fail the test.
"""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path
from typing import Any

import highdicom as hd
import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset

from inference.dicom import results_sr
from inference.dicom.writer import encode
from inference.pipelines.findings import FindingDraft
from services.contracts.ai_results import AI_RESULT_SERIES_DESCRIPTION, is_ai_result_series

pytestmark = pytest.mark.unit

DCIODVFY = Path("/usr/bin/dciodvfy")
SOURCES = ["CT_small.dcm", "MR_small.dcm", "JPEG2000.dcm", "examples_rgb_color.dcm"]


def dciodvfy(path: Path) -> tuple[list[str], list[str]]:
    """Validate a file with dciodvfy; return its (errors, warnings), warnings printed."""
    if not DCIODVFY.exists():
        pytest.fail("dciodvfy is missing: `apt-get install dicom3tools`", pytrace=False)
    result = subprocess.run(
        [str(DCIODVFY), str(path)], capture_output=True, text=True, timeout=60, check=False
    )
    lines = (result.stdout + result.stderr).splitlines()
    errors = [line for line in lines if line.startswith("Error")]
    warnings = [line for line in lines if line.startswith("Warning")]
    for line in warnings:
        print(f"dciodvfy {path.name}: {line}")
    return errors, warnings


def source(name: str) -> Dataset:
    path = get_testdata_file(name)
    assert path is not None, f"pydicom test file {name} is not installed"
    return pydicom.dcmread(path)


def retake_finding() -> FindingDraft:
    return FindingDraft(
        code="image-quality-retake",
        label_en="Image quality: retake suggested",
        label_zh="图像质量不佳：建议重拍",
        score=0.72,
        severity="significant",
        detail={
            "retake_score": 0.72,
            "worst_image_index": 0,
            "images": [{"measures": {"exposure": 0.31, "noise": 0.012, "clipped_high": 0.0}}],
        },
    )


def ai_run(job_id: uuid.UUID | None = None) -> results_sr.AiRun:
    finding = retake_finding()
    return results_sr.AiRun(
        job_id=job_id or uuid.uuid4(),
        model=results_sr.model_identity("image_quality", "1"),
        findings=[finding],
        measures=results_sr.measures_of([finding]),
    )


def measurement_group(sr: Any) -> hd.sr.MeasurementsAndQualitativeEvaluations:
    """Return the one measurement group of a report read back with ``hd.sr.srread``."""
    content: Any = sr.content
    (group,) = content.get_image_measurement_groups()
    assert isinstance(group, hd.sr.MeasurementsAndQualitativeEvaluations)
    return group


def evaluations(group: hd.sr.MeasurementsAndQualitativeEvaluations) -> list[tuple[str, str]]:
    """Return (concept, value) meanings of a group's qualitative evaluations."""
    items: list[Any] = list(group.get_qualitative_evaluations())
    return [(item.name.meaning, item.value.meaning) for item in items]


def write(sr: Dataset, folder: Path) -> Path:
    path = folder / "sr.dcm"
    path.write_bytes(encode(sr))
    return path


@pytest.mark.parametrize("name", SOURCES)
def test_report_passes_dciodvfy_and_reads_back_with_highdicom(name: str, tmp_path: Path) -> None:
    image = source(name)
    path = write(results_sr.build_report(image, ai_run()), tmp_path)

    errors, _warnings = dciodvfy(path)
    assert errors == [], "\n".join(errors)
    sr = hd.sr.srread(path)
    assert isinstance(sr, hd.sr.Comprehensive3DSR)
    assert sr.StudyInstanceUID == image.StudyInstanceUID
    assert sr.PatientID == image.PatientID
    measurement_group(sr)


def test_report_references_the_image_and_labels_itself_as_ai(tmp_path: Path) -> None:
    image = source("CT_small.dcm")
    sr = hd.sr.srread(write(results_sr.build_report(image, ai_run()), tmp_path))

    assert sr.Manufacturer == "RadBridge"
    assert sr.ManufacturerModelName == "image_quality" and sr.SoftwareVersions == "1"
    assert sr.SeriesDescription == AI_RESULT_SERIES_DESCRIPTION
    assert is_ai_result_series(sr.Modality, sr.SeriesDescription)
    (evidence,) = sr.CurrentRequestedProcedureEvidenceSequence
    referenced = evidence.ReferencedSeriesSequence[0].ReferencedSOPSequence[0]
    assert referenced.ReferencedSOPClassUID == image.SOPClassUID
    assert referenced.ReferencedSOPInstanceUID == image.SOPInstanceUID

    group = measurement_group(sr)
    texts = {
        item.ConceptNameCodeSequence[0].CodeMeaning: item.TextValue
        for item in group[0].ContentSequence
        if item.ValueType == "TEXT"
    }
    assert texts["Algorithm Name"] == "image_quality"
    assert texts["Algorithm Version"] == "1"
    parameters = [
        item.TextValue
        for item in group[0].ContentSequence
        if item.ValueType == "TEXT"
        and item.ConceptNameCodeSequence[0].CodeMeaning == "Algorithm Parameters"
    ]
    # From the shipped manifest.yaml: the regulatory status and the reader notice.
    assert parameters == [
        "regulatory_status=research-only",
        "notice=AI-assisted, for reference (research use only)",
    ]
    (source_image,) = group.source_images
    assert source_image.referenced_sop_instance_uid == image.SOPInstanceUID
    assert dict(evaluations(group)) == {
        "Image quality: retake suggested": "Present",
        "Severity": "Moderate",
        "Regulatory status": "research-only",
    }
    measures = {m.name.value: (m.value, m.unit.value) for m in group.get_measurements()}
    assert measures == {
        "retake_score": (pytest.approx(0.72), "1"),
        "exposure": (pytest.approx(0.31), "1"),
        "noise": (pytest.approx(0.012), "1"),
        "clipped_high": (0.0, "1"),
    }
    observer = sr.ContentSequence
    device_names = [
        item.TextValue
        for item in observer
        if getattr(item, "ValueType", "") == "TEXT"
        and item.ConceptNameCodeSequence[0].CodeMeaning == "Device Observer Name"
    ]
    assert device_names == ["image_quality 1"]
    schemes = [s.CodingSchemeDesignator for s in sr.CodingSchemeIdentificationSequence]
    assert results_sr.LOCAL_SCHEME in schemes


def test_same_job_gives_the_same_uids_another_job_others() -> None:
    image = source("CT_small.dcm")
    job_id = uuid.uuid4()
    first = results_sr.build_report(image, ai_run(job_id))
    again = results_sr.build_report(image, ai_run(job_id))
    other = results_sr.build_report(image, ai_run())

    assert first.SOPInstanceUID == again.SOPInstanceUID
    assert first.SeriesInstanceUID == again.SeriesInstanceUID == other.SeriesInstanceUID
    assert other.SOPInstanceUID != first.SOPInstanceUID


def test_normal_finding_is_reported_as_normal(tmp_path: Path) -> None:
    finding = FindingDraft(
        code="image-quality-adequate",
        label_en="Image quality adequate",
        label_zh="图像质量合格",
        score=0.9,
        severity="normal",
    )
    run = results_sr.AiRun(
        uuid.uuid4(), results_sr.model_identity("image_quality", "1"), [finding], {}
    )
    sr = hd.sr.srread(write(results_sr.build_report(source("MR_small.dcm"), run), tmp_path))
    group = measurement_group(sr)
    assert group.get_measurements() == []
    severities = [value for name, value in evaluations(group) if name == "Severity"]
    assert severities == ["Normal"]


def test_certified_model_shows_its_registration_number() -> None:
    identity = results_sr.ModelIdentity(
        "chest", "3", "Vendor", "certified", registration_number="NMPA 20233210001"
    )
    assert identity.regulatory_text == "certified NMPA 20233210001"


def test_source_without_uids_is_refused_with_a_reason() -> None:
    image = source("CT_small.dcm")
    del image.SOPInstanceUID
    with pytest.raises(results_sr.ResultObjectError, match="no SOPInstanceUID"):
        results_sr.build_report(image, ai_run())


def test_a_clinics_own_sr_is_not_taken_for_ours() -> None:
    assert not is_ai_result_series("SR", "Dose report")
    assert not is_ai_result_series("CT", AI_RESULT_SERIES_DESCRIPTION)
    assert is_ai_result_series("sr", f" {AI_RESULT_SERIES_DESCRIPTION} ")
