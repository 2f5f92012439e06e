"""An AI run as a DICOM Structured Report (TID 1500 Measurement Report), built with highdicom.

Every viewer that reads SR can show the result next to the images it was computed on. The report
is labelled as AI output everywhere a viewer or a PACS looks: Manufacturer "RadBridge", the series
description ``AI RESULT - FOR REFERENCE ONLY``, the model's name and version as the device
observer and the algorithm identification, and the model's regulatory status as a qualitative
evaluation. UIDs are derived from the job id, so a re-run writes the very same SOP instance and
Orthanc answers ``AlreadyStored``.

A run with a localized result (the image-quality model's collimated field) also gets a planar
ROI group (TID 1410) with that field as an image region on the analysed image: SR readers such
as OHIF draw a measurement group only when it carries one.

Codes: severity values are SNOMED CT; concepts without a standard code (image-quality measures,
RadBridge finding codes, regulatory status) use the local coding scheme ``99RDB`` (PS3.16 8.2:
designators starting with "99" are private), declared in the Coding Scheme Identification
Sequence.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import highdicom as hd
from pydicom.dataset import Dataset
from pydicom.sr.codedict import codes
from pydicom.uid import generate_uid

from inference.dicom.result_regions import fields_on, pixel_polygon
from inference.pipelines.findings import FindingDraft
from inference.pipelines.image_quality import FieldGeometry
from services.contracts.ai_results import AI_RESULT_MANUFACTURER, AI_RESULT_SERIES_DESCRIPTION
from services.model_registry.manifest import AI_NOTICE, ManifestError, ModelManifest, load_manifest

LOCAL_SCHEME = "99RDB"
LOCAL_SCHEME_NAME = "RadBridge local codes"
SERIES_NUMBER = 990
_MODELS_DIR = Path(__file__).resolve().parents[1] / "models"
_UNITLESS = codes.UCUM.NoUnits  # UCUM "1": ratios and fractions

_SEVERITY = {
    "normal": hd.sr.CodedConcept("17621005", "SCT", "Normal"),
    "significant": hd.sr.CodedConcept("6736007", "SCT", "Moderate"),
    "critical": hd.sr.CodedConcept("24484000", "SCT", "Severe"),
}
_PRESENT = hd.sr.CodedConcept("52101004", "SCT", "Present")
_FIELD_FINDING = hd.sr.CodedConcept("collimation-field", LOCAL_SCHEME, "Collimated (exposed) field")
_FIELD_AREA = hd.sr.CodedConcept("field-area-share", LOCAL_SCHEME, "Exposed field area share")
_FIELD_TILT = hd.sr.CodedConcept("field-tilt", LOCAL_SCHEME, "Exposed field tilt")
_SEVERITY_NAME = hd.sr.CodedConcept("246112005", "SCT", "Severity")
_REGULATORY_NAME = hd.sr.CodedConcept("regulatory-status", LOCAL_SCHEME, "Regulatory status")
_PROCEDURES = {
    "CT": hd.sr.CodedConcept("77477000", "SCT", "Computed tomography"),
    "MR": hd.sr.CodedConcept("113091000", "SCT", "Magnetic resonance imaging"),
}
_RADIOGRAPHY = hd.sr.CodedConcept("363680008", "SCT", "Radiographic imaging procedure")
# What highdicom's image library entry (TID 1601) reads from a referenced image, per modality.
_PROJECTION = ("PatientOrientation", "ImagerPixelSpacing")
_CROSS_SECTIONAL = (
    "PixelSpacing",
    "ImageOrientationPatient",
    "ImagePositionPatient",
    "SliceThickness",
)
_LIBRARY_NEEDS = {
    **dict.fromkeys(("CR", "DX", "IO", "MG", "PX", "RF", "RG", "XA"), _PROJECTION),
    **dict.fromkeys(("CT", "MR", "PT"), _CROSS_SECTIONAL),
}
_MEASURE_MEANINGS = {
    "retake_score": "Retake score",
    "exposure": "Mean exposure (normalized)",
    "contrast": "Contrast (percentile spread)",
    "rms_contrast": "RMS contrast",
    "clipped_low": "Fraction of pixels clipped low",
    "clipped_high": "Fraction of pixels clipped high",
    "noise": "Noise estimate (normalized)",
    "dynamic_range": "Dynamic range used",
}


class ResultObjectError(Exception):
    """The result object cannot be built from this run (e.g. the source dataset lacks UIDs)."""


@dataclass(frozen=True)
class ModelIdentity:
    """Who produced a result: the model version, its regulatory status and reader notice."""

    name: str
    version: str
    vendor: str = "RadBridge"
    regulatory_status: str = "research-only"
    registration_number: str = ""
    notice: str = AI_NOTICE["en"]  # "AI-assisted, for reference" with the status

    @property
    def regulatory_text(self) -> str:
        """Return the status as people read it, e.g. ``"research-only"`` or ``"NMPA ..."``."""
        if self.registration_number:
            return f"{self.regulatory_status} {self.registration_number}"[:64]
        return self.regulatory_status[:64]

    @classmethod
    def of(cls, manifest: ModelManifest) -> ModelIdentity:
        """Return the identity a registered manifest declares."""
        regulatory = manifest.regulatory
        return cls(
            name=manifest.name,
            version=manifest.version,
            vendor=manifest.vendor,
            regulatory_status=regulatory.status.value,
            registration_number=regulatory.nmpa_registration or "",
            notice=regulatory.notice["en"],
        )


@dataclass(frozen=True)
class AiRun:
    """One successful AI job: what it found and the measures behind it."""

    job_id: uuid.UUID
    model: ModelIdentity
    findings: Sequence[FindingDraft]
    measures: dict[str, float]


@lru_cache(maxsize=64)  # shipped files do not change while the process runs; YAML costs ~10 ms
def model_identity(name: str, version: str) -> ModelIdentity:
    """Return a shipped model's identity from its ``manifest.yaml`` (defaults if none fits).

    The registry's stored manifest is the authority for a job (``result_sr_job``); this is
    the fallback for a version routed from settings rather than registered.
    """
    path = _MODELS_DIR / name / "manifest.yaml"
    try:
        manifest = load_manifest(path) if path.is_file() else None
    except ManifestError:
        manifest = None
    if manifest is None or manifest.key != (name, version):
        return ModelIdentity(name=name, version=version, notice=f"{AI_NOTICE['en']} (unregistered)")
    return ModelIdentity.of(manifest)


def measures_of(findings: Sequence[FindingDraft]) -> dict[str, float]:
    """Collect the numeric measures a pipeline put into its findings' ``detail``.

    Reads ``retake_score`` and the measures of the image that decided the finding
    (``images[worst_image_index].measures``), the shape the image-quality pipeline writes.
    """
    measures: dict[str, float] = {}
    for finding in findings:
        detail = finding.detail
        if isinstance(detail.get("retake_score"), int | float):
            measures["retake_score"] = float(detail["retake_score"])  # type: ignore[arg-type]
        images = detail.get("images")
        index = detail.get("worst_image_index", 0)
        if isinstance(images, list) and isinstance(index, int) and 0 <= index < len(images):
            image = images[index]
            values = image.get("measures", {}) if isinstance(image, dict) else {}
            for key, value in values.items():
                if isinstance(value, int | float):
                    measures[str(key)] = float(value)
    return {key: value for key, value in measures.items() if math.isfinite(value)}


def sr_uids(job_id: uuid.UUID, study_uid: str, model: ModelIdentity) -> tuple[str, str]:
    """Return the (SOP Instance UID, Series Instance UID) of a job's report; both stable."""
    sop = generate_uid(entropy_srcs=["radbridge-ai-sr", str(job_id)])
    series = generate_uid(
        entropy_srcs=["radbridge-ai-series", study_uid, model.name, model.version]
    )
    return sop, series


def _local(value: str, meaning: str) -> hd.sr.CodedConcept:
    return hd.sr.CodedConcept(value, LOCAL_SCHEME, meaning[:64])


def _procedure(source: Dataset) -> hd.sr.CodedConcept:
    modality = str(source.get("Modality", "")).upper()
    return _PROCEDURES.get(modality, _RADIOGRAPHY)


def _device_context(model: ModelIdentity) -> hd.sr.ObserverContext:
    device = hd.sr.DeviceObserverIdentifyingAttributes(
        uid=generate_uid(entropy_srcs=["radbridge-ai-device", model.name, model.version]),
        name=f"{model.name} {model.version}"[:64],
        manufacturer_name=AI_RESULT_MANUFACTURER,
        model_name=model.name[:64],
        serial_number=model.version[:64],
    )
    return hd.sr.ObserverContext(
        observer_type=codes.DCM.Device, observer_identifying_attributes=device
    )


def _qualitative(run: AiRun) -> list[hd.sr.QualitativeEvaluation]:
    evaluations = []
    for finding in run.findings:
        evaluations.append(
            hd.sr.QualitativeEvaluation(_local(finding.code, finding.label_en), _PRESENT)
        )
        evaluations.append(hd.sr.QualitativeEvaluation(_SEVERITY_NAME, _SEVERITY[finding.severity]))
    status = run.model.regulatory_text
    evaluations.append(hd.sr.QualitativeEvaluation(_REGULATORY_NAME, _local(status, status)))
    return evaluations


def _measurements(measures: dict[str, float]) -> list[hd.sr.Measurement]:
    return [
        hd.sr.Measurement(
            name=_local(key, _MEASURE_MEANINGS.get(key, key.replace("_", " "))),
            value=value,
            unit=_UNITLESS,
        )
        for key, value in sorted(measures.items())
    ]


def _tracking(run: AiRun) -> hd.sr.TrackingIdentifier:
    """Return the run's tracking identifier: one per job, so a re-run tracks the same thing."""
    return hd.sr.TrackingIdentifier(
        uid=generate_uid(entropy_srcs=["radbridge-ai-tracking", str(run.job_id)]),
        identifier=f"AI {run.model.name} {run.model.version}"[:64],
    )


def _field_groups(
    source: Dataset, run: AiRun, algorithm: hd.sr.AlgorithmIdentification
) -> list[hd.sr.PlanarROIMeasurementsAndQualitativeEvaluations]:
    """Return one planar ROI group (TID 1410) per collimated field the run found on ``source``.

    The field is an image region (a closed POLYLINE SCOORD on the analysed image): SR readers
    such as OHIF draw a measurement group only when it carries one. The group shares the run's
    tracking identifier with the whole-image group, as groups about one finding may: OHIF
    3.13 merges groups by Tracking Unique Identifier, and a group left without a region on its
    own stops it loading the report ("Cannot read properties of undefined").
    """
    return [
        hd.sr.PlanarROIMeasurementsAndQualitativeEvaluations(
            tracking_identifier=_tracking(run),
            referenced_region=hd.sr.ImageRegion(
                graphic_type=hd.sr.GraphicTypeValues.POLYLINE,
                graphic_data=pixel_polygon(field.corners, source),
                source_image=hd.sr.SourceImageForRegion.from_source_image(source),
            ),
            finding_type=_FIELD_FINDING,
            algorithm_id=algorithm,
            measurements=_field_measurements(field),
        )
        for field in fields_on(run.findings, source)
    ]


def _field_measurements(field: FieldGeometry) -> list[hd.sr.Measurement]:
    return [
        hd.sr.Measurement(
            name=_FIELD_AREA, value=round(100.0 * field.fraction, 2), unit=codes.UCUM.Percent
        ),
        hd.sr.Measurement(name=_FIELD_TILT, value=round(field.tilt_deg, 2), unit=codes.UCUM.Degree),
    ]


def _image_library(source: Dataset) -> list[Dataset] | None:
    """Return the image library of the report: the source, if it has what its entry needs.

    Radiographs in the field often lack PatientOrientation or ImagerPixelSpacing (Type 1 in
    the DX IOD); highdicom then fails. Such an image is still referenced by the measurement
    group and the evidence, only without an image library entry.
    """
    needs = _LIBRARY_NEEDS.get(str(source.get("Modality", "")).upper(), ())
    if any(source.get(keyword) in (None, "") for keyword in needs):
        return None
    return [source]


def build_report(source: Dataset, run: AiRun) -> hd.sr.Comprehensive3DSR:
    """Build the Measurement Report of ``run``, computed on the image ``source``.

    Raises
    ------
    ResultObjectError
        If ``source`` cannot be referenced (no SOP Class/Instance or Study Instance UID).
    """
    for keyword in ("SOPClassUID", "SOPInstanceUID", "StudyInstanceUID"):
        if not str(source.get(keyword, "")).strip():
            raise ResultObjectError(f"The source image has no {keyword}; it cannot be referenced.")
    algorithm = hd.sr.AlgorithmIdentification(
        name=run.model.name[:64],
        version=run.model.version[:64],
        parameters=[
            f"regulatory_status={run.model.regulatory_text}"[:64],
            f"notice={run.model.notice}"[:64],
        ],
        manufacturer=run.model.vendor[:64],
    )
    group = hd.sr.MeasurementsAndQualitativeEvaluations(
        tracking_identifier=_tracking(run),
        algorithm_id=algorithm,
        measurements=_measurements(run.measures) or None,
        qualitative_evaluations=_qualitative(run),
        source_images=[hd.sr.SourceImageForMeasurementGroup.from_source_image(source)],
    )
    report = hd.sr.MeasurementReport(
        observation_context=hd.sr.ObservationContext(
            observer_device_context=_device_context(run.model)
        ),
        procedure_reported=_procedure(source),
        imaging_measurements=[group, *_field_groups(source, run, algorithm)],
        referenced_images=_image_library(source),
    )
    sop_uid, series_uid = sr_uids(run.job_id, str(source.StudyInstanceUID), run.model)
    try:
        sr = hd.sr.Comprehensive3DSR(
            evidence=[source],
            content=report,
            series_instance_uid=series_uid,
            series_number=SERIES_NUMBER,
            sop_instance_uid=sop_uid,
            instance_number=1,
            manufacturer=AI_RESULT_MANUFACTURER,
            series_description=AI_RESULT_SERIES_DESCRIPTION,
            is_complete=True,
        )
    except (ValueError, TypeError, AttributeError) as exc:
        raise ResultObjectError(f"The SR could not be built: {exc}") from exc
    _label(sr, run.model)
    return sr


def _label(sr: Dataset, model: ModelIdentity) -> None:
    """Add equipment identity, declare the local coding scheme, and encode text as UTF-8.

    UTF-8 (ISO_IR 192) because an NMPA registration number is Chinese (国械注准...); the
    default repertoire would turn it into question marks.
    """
    sr.SpecificCharacterSet = "ISO_IR 192"
    sr.ManufacturerModelName = model.name[:64]
    sr.SoftwareVersions = model.version[:64]
    scheme = Dataset()
    scheme.CodingSchemeDesignator = LOCAL_SCHEME
    scheme.CodingSchemeName = LOCAL_SCHEME_NAME
    scheme.CodingSchemeResponsibleOrganization = AI_RESULT_MANUFACTURER
    sr.CodingSchemeIdentificationSequence = [scheme]
