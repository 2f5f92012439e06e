"""Turn a stable Orthanc study into a registered RadBridge study of the right clinic.

Ownership comes from the gateway's own record of who uploaded the study (STOW-RS, uploads), or
for C-STORE from the calling AE title of a registered DICOM node. A study whose owner cannot be
established is quarantined with the reason, never silently given to a tenant.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace

from sqlalchemy.orm import Session

from gateway.ingest import patient_namespace
from gateway.ingest.series_tags import with_series_tags
from gateway.orthanc.port import OrthancPort
from gateway.orthanc.records import Origin, StudyInfo
from services.contracts.ai_results import is_radbridge_output_series
from services.contracts.ingest import SeriesFacts, StudyFacts
from services.contracts.task_names import ARCHIVE_STUDY
from services.domain.routing import ModelRoute
from services.kit.db import enqueue
from services.kit.ids import is_dicom_uid
from services.models import Organization
from services.quarantine import service as quarantine
from services.study import origin as study_origin
from services.study import service as study_service
from services.study import upload_batch
from services.tenant import service as tenant_service

log = logging.getLogger("radbridge.ingest")
SCP_UPLOADER_PREFIX = "dicom:"


@dataclass(frozen=True)
class IngestOutcome:
    """What happened to one stable study."""

    orthanc_id: str
    result: str  # "registered" | "refreshed" | "quarantined" | "ignored" | "deferred"
    reason: str = ""


def facts_from(info: StudyInfo) -> StudyFacts:
    """Map Orthanc's view of a study onto the core's plain ``StudyFacts``."""
    return StudyFacts(
        study_instance_uid=info.study_instance_uid,
        orthanc_id=info.orthanc_id,
        patient_id=info.patient_id,
        patient_name=info.patient_name,
        patient_sex=info.patient_sex,
        patient_birth_date=info.patient_birth_date,
        accession_number=info.accession_number,
        study_date=info.study_date,
        description=info.study_description,
        series=tuple(
            SeriesFacts(
                series_instance_uid=s.series_instance_uid,
                orthanc_id=s.orthanc_id,
                modality=s.modality,
                body_part=s.body_part_examined,
                description=s.series_description,
                instance_count=s.instance_count,
            )
            for s in info.series
        ),
    )


def with_declared_order(session: Session, facts: StudyFacts, orthanc_id: str) -> StudyFacts:
    """Fill the urgency and patient type the uploader declared (they win over the DICOM)."""
    declared = study_origin.declared_of(study_origin.uploader_of(session, orthanc_id))
    return replace(
        facts,
        urgency=declared.urgency or facts.urgency,
        patient_type=declared.patient_type or facts.patient_type,
    )


def _owner(
    session: Session, client: OrthancPort, info: StudyInfo
) -> tuple[Organization | None, str, str]:
    """Return (clinic, source, calling AE) or (None, reason code, explanation)."""
    uploaded = study_origin.uploader_of(session, info.orthanc_id)
    if uploaded is not None:
        # The gateway's DICOM SCP (and a release of its quarantine) notes "dicom:<calling AE>".
        by = uploaded.uploaded_by
        dicom = uploaded.source == "dicom" and by.startswith(SCP_UPLOADER_PREFIX)
        detail = by.removeprefix(SCP_UPLOADER_PREFIX) if dicom else ""
        return session.get(Organization, uploaded.organization_id), uploaded.source, detail
    if not info.instance_ids:
        return None, "empty_study", "The study has no instances."
    origin = client.get_instance_origin(info.instance_ids[0])
    if origin.origin != Origin.DICOM_PROTOCOL:
        return None, "unknown_uploader", f"Received via {origin.origin} without a known uploader."
    node = tenant_service.find_node_by_ae_title(session, origin.remote_aet)
    if node is None:
        return (
            None,
            "unknown_ae_title",
            f"Calling AE title {origin.remote_aet!r} is not registered.",
        )
    return session.get(Organization, node.organization_id), "dicom", origin.remote_aet


def handle_stable_study(  # noqa: PLR0911 - one early exit per reason not to register
    session: Session, client: OrthancPort, orthanc_id: str, routes: Sequence[ModelRoute]
) -> IngestOutcome:
    """Register a stable study for its clinic, or quarantine it with the reason."""
    if quarantine.held_for_orthanc_study(session, orthanc_id) is not None:
        return IngestOutcome(orthanc_id, "quarantined", "already held")
    info = client.get_study(orthanc_id)
    if upload_batch.is_held(session, info.study_instance_uid):
        # Part of it is still being uploaded: readers and AI see it once its batch is whole.
        return IngestOutcome(orthanc_id, "deferred", "upload batch not complete")
    # RadBridge's own output (AI results, the signed report) is not part of what the clinic
    # sent: no new series, no new AI run on it, and its REST origin never decides the owner.
    ours = [s for s in info.series if is_radbridge_output_series(s.modality, s.series_description)]
    if ours:
        info = replace(info, series=tuple(s for s in info.series if s not in ours))
        if not info.series:
            return IngestOutcome(orthanc_id, "ignored", "only RadBridge output series")
    clinic, source, detail = _owner(session, client, info)
    if clinic is None:
        return _quarantine(session, info, reason_code=source, reason=detail)
    own_patient_id = patient_namespace.original_patient_id(info.patient_id, clinic.id)
    if own_patient_id is None:  # namespaced for another organization: a forged identity
        return _quarantine(
            session,
            info,
            reason_code="foreign_patient_namespace",
            reason="The PatientID carries another organization's namespace prefix.",
            clinic=clinic,
        )
    info = replace(info, patient_id=own_patient_id)  # our database keeps the clinic's own ID
    if not is_dicom_uid(info.study_instance_uid):
        return _quarantine(
            session,
            info,
            reason_code="invalid_study_uid",
            reason="The StudyInstanceUID is missing or not a valid DICOM UID.",
            clinic=clinic,
        )
    facts = with_series_tags(facts_from(info), info, client)  # view, plane, SOP class
    study, created = study_service.register(
        session,
        clinic=clinic,
        facts=with_declared_order(session, facts, info.orthanc_id),
        source=source,
        calling_ae_title=detail if source == "dicom" else "",
        routes=routes,
    )
    log.info(
        "study %s %s for org %s", study.id, "registered" if created else "refreshed", clinic.id
    )
    enqueue(session, ARCHIVE_STUDY, study_id=str(study.id))  # idempotent: late series too
    return IngestOutcome(orthanc_id, "registered" if created else "refreshed")


def _quarantine(
    session: Session,
    info: StudyInfo,
    *,
    reason_code: str,
    reason: str,
    clinic: Organization | None = None,
) -> IngestOutcome:
    quarantine.hold(
        session,
        source="dicom",
        reason_code=reason_code,
        reason=reason,
        tenant_id=clinic.tenant_id if clinic else None,
        organization_id=clinic.id if clinic else None,
        orthanc_id=info.orthanc_id,
        study_instance_uid=info.study_instance_uid or None,
    )
    log.warning("study %s quarantined: %s", info.orthanc_id, reason_code)
    return IngestOutcome(info.orthanc_id, "quarantined", reason_code)
