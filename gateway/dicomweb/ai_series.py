"""RadBridge's AI result series of a study, shown to the study's readers next to its images.

Ingest leaves RadBridge's own output out of a study's registered series (an AI result is not
something the clinic sent and must not start another AI run), so the read side adds it back
here. A series is served only if it holds an object an inference job of this study wrote: the
SR whose SOP Instance UID the job recorded, or the GSPS whose UID derives from the job id
(``services.contracts.ai_result_uids``). A clinic that copies the AI series description into
its own upload gets nothing shown as an AI result.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from gateway.dicomweb import repository
from gateway.dicomweb.upstream import OrthancDicomWeb
from services.contracts.ai_results import is_ai_result_series
from services.models import Study


@dataclass
class ResultSeries:
    """One AI result series as Orthanc holds it (the fields QIDO-RS answers with)."""

    orthanc_id: str
    series_instance_uid: str
    modality: str
    description: str
    instance_count: int
    body_part: str = ""


def of_study(session: Session, upstream: OrthancDicomWeb, study: Study) -> list[ResultSeries]:
    """Return the AI result series (SR, GSPS) RadBridge wrote into ``study`` (already checked)."""
    written = repository.result_object_uids(session, study.id)
    if not written or not study.orthanc_id:
        return []
    instances: list[dict[str, Any]] = upstream.rest_json(f"/studies/{study.orthanc_id}/instances")
    parents = sorted(
        {
            str(i["ParentSeries"])
            for i in instances
            if i.get("MainDicomTags", {}).get("SOPInstanceUID") in written
        }
    )
    found = []
    for orthanc_id in parents:
        info: dict[str, Any] = upstream.rest_json(f"/series/{orthanc_id}")
        tags = info.get("MainDicomTags", {})
        modality, description = (
            str(tags.get("Modality", "")),
            str(tags.get("SeriesDescription", "")),
        )
        if info.get("ParentStudy") != study.orthanc_id or not is_ai_result_series(
            modality, description
        ):
            continue
        found.append(
            ResultSeries(
                orthanc_id=orthanc_id,
                series_instance_uid=str(tags.get("SeriesInstanceUID", "")),
                modality=modality,
                description=description,
                instance_count=len(info.get("Instances", [])),
            )
        )
    return found
