"""Studies: registration from the gateway, AI status settling, scoped reads."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.orm import Session

from services.audit import service as audit
from services.auth.principal import Principal, TenantScope
from services.contracts.ingest import StudyFacts
from services.domain.pinyin_search import name_keys
from services.domain.routing import ModelRoute, models_for
from services.domain.study_status import AiStatus, StudyStatus
from services.inference_job import service as job_service
from services.kit.errors import Conflict
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
        body_part=next((s.body_part for s in facts.series if s.body_part), ""),
        study_date=facts.study_date,
        description=facts.description,
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
    _start_ai(session, study, facts, routes)
    for reader_org_id in tenant_service.reader_orgs_for_clinic(session, clinic_org_id=clinic.id)[
        :1
    ]:
        worklist_service.open_item(session, study=study, reader_org_id=reader_org_id)
    return study, True


def _start_ai(
    session: Session, study: Study, facts: StudyFacts, routes: Sequence[ModelRoute]
) -> None:
    applicable = models_for(facts.modalities, routes)
    if not applicable:
        transitions.move_ai(session, study, AiStatus.AI_SKIPPED, actor=SYSTEM)
        return
    transitions.move_ai(session, study, AiStatus.AI_PENDING, actor=SYSTEM)
    job_service.create_jobs(session, study=study, routes=applicable)


def settle_ai_status(session: Session, *, study_id: uuid.UUID) -> Study:
    """Derive the study's AI status from its jobs and re-score its worklist item."""
    study = repository.get_for_update(session, study_id)
    if study is None:
        raise StudyNotFound("The study of this AI job no longer exists.")
    statuses = {job.status for job in job_service.jobs_of_study(session, study_id)}
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
        audit.record_denied(
            session,
            actor=principal.actor,
            action="study.read",
            object_type="study",
            object_id=study_id,
            tenant_id=principal.tenant_id,
        )
        raise StudyNotFound("No such study, or it belongs to an organization you cannot see.")
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
