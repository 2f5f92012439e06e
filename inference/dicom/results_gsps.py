"""Localized AI results as a DICOM Grayscale Softcopy Presentation State (GSPS), with highdicom.

A GSPS is how a PACS viewer draws annotations over an image without touching its pixels: any
viewer that reads the study shows the outline where the model found it. The object references
the very image the model analysed and is labelled as AI output like the SR
(``results_sr``): Manufacturer "RadBridge", the series description
``AI RESULT - FOR REFERENCE ONLY`` (so ingest leaves it out of the study), Content Label ``AI``,
the content creator ``AI^<model>``, and the model's name, version and regulatory status in the
Content Description. Every text drawn starts with "AI:". UIDs derive from the job id, so a re-run
writes the very same instance and Orthanc answers ``AlreadyStored``.

Today the one localized result is the image-quality model's exposed (collimated) field.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import highdicom as hd
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid

from inference.dicom.result_regions import fields_on, pixel_polygon
from inference.dicom.results_sr import AiRun, ModelIdentity, ResultObjectError
from inference.pipelines.findings import FindingDraft
from inference.pipelines.image_quality import FieldGeometry
from services.contracts.ai_result_uids import gsps_sop_instance_uid
from services.contracts.ai_results import AI_RESULT_MANUFACTURER, AI_RESULT_SERIES_DESCRIPTION

SERIES_NUMBER = 991
CONTENT_LABEL = "AI"
LAYER_NAME = "AI"
_LAYER_COLOR = hd.color.CIELabColor.from_rgb(255, 191, 0)  # amber: not a clinical colour


@dataclass(frozen=True)
class Outline:
    """One localized finding to draw: a closed polygon and its text, on the analysed image."""

    label: str  # shown as is; starts with "AI:"
    points: tuple[tuple[float, float], ...]  # x, y normalised to the image (0..1), in order


def gsps_uids(job_id: uuid.UUID, study_uid: str, model: ModelIdentity) -> tuple[str, str]:
    """Return the (SOP Instance UID, Series Instance UID) of a job's GSPS; both stable."""
    sop = gsps_sop_instance_uid(job_id)
    series = generate_uid(
        entropy_srcs=["radbridge-ai-gsps-series", study_uid, model.name, model.version]
    )
    return sop, series


def outlines_of(findings: Sequence[FindingDraft], source: Dataset) -> list[Outline]:
    """Return the localized results of ``findings`` that lie on the image ``source``.

    The collimated fields of ``result_regions.fields_on``: a field of the whole image (no
    collimator edge) is not drawn, and neither is a field measured on another image.
    """
    return [
        Outline(label=_field_label(field), points=field.corners)
        for field in fields_on(findings, source)
    ]


def _field_label(field: FieldGeometry) -> str:
    return f"AI: collimation field, {field.fraction:.0%} of image, tilt {field.tilt_deg:+.1f} deg"


def build_presentation_state(
    source: Dataset, run: AiRun, outlines: Sequence[Outline]
) -> hd.pr.GrayscaleSoftcopyPresentationState:
    """Build the GSPS drawing ``outlines`` over ``source``, the image the model analysed.

    Raises
    ------
    ResultObjectError
        If there is nothing to draw, ``source`` cannot be referenced, or highdicom refuses.
    """
    if not outlines:
        raise ResultObjectError("There is no localized result to draw.")
    for keyword in ("SOPClassUID", "SOPInstanceUID", "StudyInstanceUID", "Rows", "Columns"):
        if not str(source.get(keyword, "")).strip():
            raise ResultObjectError(f"The source image has no {keyword}; it cannot be referenced.")
    model = run.model
    layer = hd.pr.GraphicLayer(
        layer_name=LAYER_NAME,
        order=1,
        description=f"AI output ({model.name} {model.version}), for reference only"[:64],
        display_color=_LAYER_COLOR,
    )
    sop_uid, series_uid = gsps_uids(run.job_id, str(source.StudyInstanceUID), model)
    try:
        graphics = [
            hd.pr.GraphicObject(
                graphic_type=hd.pr.GraphicTypeValues.POLYLINE,
                graphic_data=pixel_polygon(outline.points, source),
                units=hd.pr.AnnotationUnitsValues.PIXEL,
            )
            for outline in outlines
        ]
        texts = [
            hd.pr.TextObject(
                text_value=outline.label[:1024],
                units=hd.pr.AnnotationUnitsValues.PIXEL,
                anchor_point=tuple(pixel_polygon(outline.points, source)[0]),
                anchor_point_visible=True,
            )
            for outline in outlines
        ]
        annotation = hd.pr.GraphicAnnotation(
            referenced_images=[source],
            graphic_layer=layer,
            graphic_objects=graphics,
            text_objects=texts,
        )
        gsps = hd.pr.GrayscaleSoftcopyPresentationState(
            referenced_images=[source],
            series_instance_uid=series_uid,
            series_number=SERIES_NUMBER,
            sop_instance_uid=sop_uid,
            instance_number=1,
            manufacturer=AI_RESULT_MANUFACTURER,
            manufacturer_model_name=model.name[:64],
            software_versions=model.version[:64],
            device_serial_number=model.version[:64],
            content_label=CONTENT_LABEL,
            content_description=(
                f"AI {model.name} {model.version}; {model.regulatory_text}; for reference"[:64]
            ),
            graphic_annotations=[annotation],
            graphic_layers=[layer],
            content_creator_name=f"AI^{model.name}"[:64],
        )
    except (ValueError, TypeError, AttributeError) as exc:
        raise ResultObjectError(f"The GSPS could not be built: {exc}") from exc
    gsps.SeriesDescription = AI_RESULT_SERIES_DESCRIPTION
    gsps.SpecificCharacterSet = "ISO_IR 192"  # an NMPA registration number is Chinese
    gsps.Laterality = _laterality(source)
    return gsps


def _laterality(source: Dataset) -> str:
    """Return the side of a paired body part the image shows ("R"/"L"), else "" (unknown).

    General Series Laterality is Type 2C (present, possibly empty, when the body part is
    paired and no image laterality is sent); a presentation state has no image laterality.
    """
    for keyword in ("Laterality", "ImageLaterality"):
        value = str(source.get(keyword, "") or "").strip().upper()
        if value in ("R", "L"):
            return value
    return ""
