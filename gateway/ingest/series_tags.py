"""The routing facts of each series (and the order facts of the study), from first instances.

Model manifests match on SOP class, view (PA/AP...), plane, slice thickness and slice count,
which Orthanc does not index at series level. One REST call per series (the first instance's
tags, no pixel data) fills them in; an enhanced multi-frame series takes a few more
(``enhanced_series``). A series whose tags cannot be read keeps empty facts and is simply not
matched by rules that need them.
"""

from __future__ import annotations

import logging
import math
from dataclasses import replace

from gateway.ingest.enhanced_series import frames_of_series, is_enhanced_volume, with_group_geometry
from gateway.orthanc.errors import OrthancRejected
from gateway.orthanc.port import OrthancPort
from gateway.orthanc.records import StudyInfo
from services.contracts.ingest import SeriesFacts, StudyFacts
from services.domain.model_matching import orientation_of

log = logging.getLogger("radbridge.ingest")


def orientation(value: str) -> str:
    """Return the plane of a backslash-separated ImageOrientationPatient; "" if unclear."""
    try:
        cosines = [float(part) for part in value.split("\\")]
    except ValueError:
        return ""
    return orientation_of(cosines)


def _thickness(value: str) -> float | None:
    try:
        thickness = float(value.split("\\")[0])
    except ValueError:
        return None
    return thickness if math.isfinite(thickness) and thickness > 0 else None


def series_facts(series: SeriesFacts, tags: dict[str, str]) -> SeriesFacts:
    """Return ``series`` with the four routing facts taken from ``tags``."""
    return replace(
        series,
        sop_class_uid=tags.get("SOPClassUID", "").strip(),
        view_position=tags.get("ViewPosition", "").strip().upper(),
        orientation=orientation(tags.get("ImageOrientationPatient", "")),
        slice_thickness=_thickness(tags.get("SliceThickness", "")),
    )


def with_series_tags(facts: StudyFacts, info: StudyInfo, client: OrthancPort) -> StudyFacts:
    """Fill each series' routing facts from its first instance (one REST call per series)."""
    first = {s.series_instance_uid: s.instance_ids[0] for s in info.series if s.instance_ids}
    filled = []
    for series in facts.series:
        instance = first.get(series.series_instance_uid)
        if instance is None:
            filled.append(series)
            continue
        try:
            tags = client.get_instance_tags(instance)
            slices = None
            if is_enhanced_volume(tags):  # one file, many frames: geometry in functional groups
                tags = with_group_geometry(client, instance, tags)
                slices = frames_of_series(client, series.orthanc_id) if series.orthanc_id else None
        except OrthancRejected as error:  # facts stay empty; rules needing them do not match
            log.warning("series %s: tags unreadable: %s", series.series_instance_uid, error)
            filled.append(series)
            continue
        filled.append(replace(series_facts(series, tags), slice_count=slices))
        facts = with_order_facts(facts, tags)
    return replace(facts, series=tuple(filled))


def with_order_facts(facts: StudyFacts, tags: dict[str, str]) -> StudyFacts:
    """Fill the patient-type and urgency sources once, from the first instance that has them.

    Current Patient Location (0038,0300) and Admission ID (0038,0010) tell an inpatient;
    Requested Procedure Priority (0040,1003) carries STAT / HIGH (services.domain.patient_type).
    """
    return replace(
        facts,
        patient_location=facts.patient_location or tags.get("CurrentPatientLocation", "").strip(),
        admission_id=facts.admission_id or tags.get("AdmissionID", "").strip(),
        requested_priority=facts.requested_priority
        or tags.get("RequestedProcedurePriority", "").strip().upper(),
    )
