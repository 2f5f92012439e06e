"""Studies: registration from the gateway, AI status settling, scoped reads."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.orm import Session

from services.audit import service as audit
from services.auth.principal import Principal, TenantScope
from services.contracts.ingest import StudyFacts
from services.domain.patient_type import patient_type_of, urgency_of
from services.domain.pinyin_search import name_keys
from services.domain.routing import ModelRoute
from services.domain.study_status import AiStatus, StudyStatus
from services.inference_job import service as job_service
from services.kit.errors import Conflict
from services.model_registry import routing as model_routing
from services.models import Organization, Series, Study
from services.study import repository, transitions
from services.study.exceptions import StudyNotFound
from services.tenant import service as tenant_service
from services.worklist import service as worklist_service

SYSTEM = "system:intake"


def _sync_series(session: Session, study: Study, facts: StudyFacts) -> None:
    known = {s.series_instance_uid: s for s in repository.series_of(session, study.id)}
    for fact in facts.series:
        row = known.get(fact.series_instance_uid)
        if row is None:
            row = Series(
                tenant_id=study.tenant_id,
                study_id=study.id,
                series_instance_uid=fact.series_instance_uid,
            )
            session.add(row)
        row.orthanc_id = fact.orthanc_id
        row.modality = fact.modality
        row.body_part = fact.body_part
        row.description = fact.description
        row.instance_count = fact.instance_count
        row.sop_class_uid = fact.sop_class_uid
        row.view_position = fact.view_position
        row.orientation = fact.orientation
        row.slice_thickness = fact.slice_thickness
        row.slice_count = fact.slice_count


def register(
    session: Session,
    *,
    clinic: Organization,
    facts: StudyFacts,
    source: str,
    calling_ae_title: str = "",
    routes: Sequence[ModelRoute] = (),
) -> tuple[Study, bool]:
    """Register (or refresh) a stable study for its clinic; return it and whether it is new.

    A new study is validated, put on the reading hospital's worklist at once (AI is advisory),
    and gets one AI job per applicable model. A known study only gets its series refreshed
    (late instances), so the change feed may replay events without duplicating anything.
    """
    study = repository.by_uid(session, clinic.tenant_id, facts.study_instance_uid)
    if study is not None:
        if study.organization_id != clinic.id:
            raise Conflict("This StudyInstanceUID already belongs to another clinic's study.")
        _sync_series(session, study, facts)
        study.instance_count = facts.instance_count
        if study.orthanc_id is None:  # taken offline by retention, now sent again: online again
            study.orthanc_id = facts.orthanc_id
        return study, False
    study = Study(
        tenant_id=clinic.tenant_id,
        organization_id=clinic.id,
        study_instance_uid=facts.study_instance_uid,
        orthanc_id=facts.orthanc_id,
        patient_id=facts.patient_id,
        patient_id_issuer=clinic.patient_id_issuer,
        patient_name=facts.patient_name,
        patient_name_pinyin=name_keys(facts.patient_name).pinyin,
        patient_name_initials=name_keys(facts.patient_name).initials,
        patient_sex=facts.patient_sex,
        patient_birth_date=facts.patient_birth_date,
        accession_number=facts.accession_number,
        modality="/".join(facts.modalities),
        # A code string (upper case by the standard); devices that send "chest" are matched too.
        body_part=next((s.body_part.strip().upper() for s in facts.series if s.body_part), ""),
        study_date=facts.study_date,
        description=facts.description,
        patient_type=patient_type_of(
            explicit=facts.patient_type,
            current_location=facts.patient_location,
            admission_id=facts.admission_id,
        ).value,
        urgency=facts.urgency or urgency_of(facts.requested_priority),
        source=source,
        calling_ae_title=calling_ae_title,
        instance_count=facts.instance_count,
        status=StudyStatus.RECEIVED.value,
        ai_status=AiStatus.NONE.value,
    )
    session.add(study)
    session.flush()
    _sync_series(session, study, facts)
    audit.record(
        session,
        actor=SYSTEM,
        action="study.received",
        object_type="study",
        object_id=study.id,
        tenant_id=study.tenant_id,
        study_id=study.id,
        detail={"source": source, "calling_ae_title": calling_ae_title},
    )
    transitions.move(session, study, StudyStatus.VALIDATED, actor=SYSTEM)
    _start_ai(session, study, routes)
    for reader_org_id in tenant_service.reader_orgs_for_clinic(session, clinic_org_id=clinic.id)[
        :1
    ]:
        worklist_service.open_item(session, study=study, reader_org_id=reader_org_id)
    return study, True


def _start_ai(session: Session, study: Study, routes: Sequence[ModelRoute]) -> None:
    """Route the study through the model registry (or the configured routes without one).

    Shadow versions run but do not count for the reader-visible AI status: a study only
    shadow models apply to is AI_SKIPPED for readers, with the reason stored.
    """
    series = repository.series_of(session, study.id)
    decision = model_routing.plan_jobs(session, tenant_id=study.tenant_id, series=series)
    if decision is None:
        decision = model_routing.plans_from_routes(routes, series)
    shown = [plan for plan in decision.plans if not plan.shadow]
    reason = decision.reason
    if decision.plans and not shown:
        reason = "only shadow model versions apply" + (f"; {reason}" if reason else "")
    study.ai_status_reason = reason[:300]
    target = AiStatus.AI_PENDING if shown else AiStatus.AI_SKIPPED
    transitions.move_ai(session, study, target, actor=SYSTEM)
    job_service.create_jobs(session, study=study, plans=decision.plans)


def settle_ai_status(session: Session, *, study_id: uuid.UUID) -> Study:
    """Derive the study's AI status from its jobs and re-score its worklist item."""
    study = repository.get_for_update(session, study_id)
    if study is None:
        raise StudyNotFound("The study of this AI job no longer exists.")
    jobs = job_service.jobs_of_study(session, study_id)
    statuses = {job.status for job in jobs if not job.shadow}
    if not statuses:  # only shadow runs: readers' AI status does not move
        return study
    if statuses & {"QUEUED", "RUNNING"}:
        target = AiStatus.AI_PENDING
    elif "SUCCEEDED" in statuses:
        target = AiStatus.AI_DONE
    else:
        target = AiStatus.AI_FAILED
    transitions.move_ai(session, study, target, actor="system:inference")
    worklist_service.reprioritize(session, study=study)
    return study


def settle_stuck_ai(session: Session, *, limit: int = 200) -> int:
    """Settle studies left AI_PENDING after their last job ended (e.g. failed by the sweeper)."""
    ids = repository.ai_pending_without_live_jobs(session, limit=limit)
    for study_id in ids:
        settle_ai_status(session, study_id=study_id)
    return len(ids)


def get_visible(
    session: Session, *, scope: TenantScope, principal: Principal, study_id: uuid.UUID
) -> Study:
    """Return a study the caller may see and audit the access, else raise StudyNotFound."""
    study = repository.get_scoped(session, scope, study_id)
    if study is None:
        raise audit.refused(
            session,
            principal=principal,
            action="study.read",
            object_type="study",
            object_id=study_id,
            error=StudyNotFound("No such study, or it belongs to an organization you cannot see."),
        )
    audit.record(
        session,
        actor=principal.actor,
        action="study.read",
        object_type="study",
        object_id=study.id,
        tenant_id=study.tenant_id,
        study_id=study.id,
    )
    return study


def list_visible(
    session: Session, *, scope: TenantScope, status: str | None, limit: int
) -> list[Study]:
    """Return the studies the caller may see, newest first."""
    return repository.list_scoped(session, scope, limit=limit, status=status)


def series(session: Session, *, study: Study) -> list[Series]:
    """Return a study's series."""
    return repository.series_of(session, study.id)
