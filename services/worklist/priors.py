"""Prior studies across the consortium, matched through the patient index.

A study's patient is identified by patient ID + issuer within its tenant. Studies from other
issuers (another clinic numbering its own patients) are listed only through the guarded
fallback: same normalized name AND same full birth date AND no contradicting sex, marked as a
probable match. Nothing is ever merged, and a name alone never matches. Queries never leave
the study's tenant. ``open_prior`` lets the reader of the current study open a prior from any
clinic of the consortium, through the current study's worklist item.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from services.audit import service as audit
from services.auth.principal import Principal, TenantScope
from services.domain.patient_match import MatchBasis, PatientKeys, keys_of, match
from services.models import PatientIndexEntry, Study, WorklistItem
from services.worklist import priors_repository
from services.worklist.exceptions import NotClaimedByYou, PriorNotFound


@dataclass(frozen=True)
class Prior:
    """An earlier study of the same patient, and why it is believed to be the same patient."""

    study: Study
    match: MatchBasis


def _keys(study: Study) -> PatientKeys:
    return keys_of(
        issuer=study.patient_id_issuer,
        patient_id=study.patient_id,
        name=study.patient_name,
        birth_date=study.patient_birth_date,
        sex=study.patient_sex,
    )


def _entry_keys(entry: PatientIndexEntry) -> PatientKeys:
    return PatientKeys(
        issuer=entry.issuer,
        patient_id=entry.patient_id,
        name_key=entry.name_key,
        birth_date=entry.birth_date,
        sex=entry.sex,
    )


def index_study(session: Session, *, study: Study) -> PatientIndexEntry:
    """Add a study's patient keys to the index (idempotent)."""
    existing = priors_repository.entry_of(session, study.id)
    if existing is not None:
        return existing
    keys = _keys(study)
    entry = PatientIndexEntry(
        tenant_id=study.tenant_id,
        study_id=study.id,
        issuer=keys.issuer,
        patient_id=keys.patient_id,
        name_key=keys.name_key,
        birth_date=keys.birth_date,
        sex=keys.sex,
    )
    session.add(entry)
    session.flush()
    return entry


def _matched(session: Session, *, study: Study, limit: int) -> list[Prior]:
    keys = _keys(study)
    found = priors_repository.candidates(
        session, tenant_id=study.tenant_id, keys=keys, exclude_study_id=study.id, limit=limit
    )
    cutoff: datetime = study.received_at
    priors = []
    for entry, other in found:
        basis = match(keys, _entry_keys(entry))
        if basis is not None and other.received_at <= cutoff:
            priors.append(Prior(study=other, match=basis))
    return priors


def matched_priors(session: Session, *, study: Study, limit: int = 50) -> list[Prior]:
    """Return the patient's earlier studies in the study's tenant, for system use (not audited).

    Background jobs (e.g. a nodule's doubling time across studies) read priors without a
    reader; a reader's listing goes through ``priors_of``, which audits it.
    """
    return _matched(session, study=study, limit=limit)


def priors_of(
    session: Session, *, study: Study, principal: Principal, limit: int = 50
) -> list[Prior]:
    """Return the patient's other studies received before ``study``, newest first (audited)."""
    priors = _matched(session, study=study, limit=limit)
    audit.record(
        session,
        actor=principal.actor,
        action="study.priors",
        object_type="study",
        object_id=study.id,
        tenant_id=study.tenant_id,
        study_id=study.id,
        detail={"listed": [str(p.study.id) for p in priors]},
    )
    return priors


def open_prior(
    session: Session,
    *,
    principal: Principal,
    scope: TenantScope | None,
    item: WorklistItem,
    prior_study_id: uuid.UUID,
) -> Prior:
    """Open one prior of the patient of ``item`` (an item of the caller's hospital; audited).

    A prior inside the caller's own scope opens like any study. A prior from a clinic of the
    consortium that the caller's hospital has no reading agreement with opens only for the
    reader who holds the claim on ``item``: they are reading the current study and need its
    history. The prior must be a match of the current study's patient in the patient index of
    the same tenant, so nothing ever opens across consortia. Every refusal is a 404 except
    "claim first", which names the prior the caller could already see listed.
    """
    study = session.get(Study, item.study_id)
    if study is None or study.tenant_id != item.tenant_id:
        raise PriorNotFound("No such prior study for this worklist item's patient.")
    prior = next(
        (p for p in _matched(session, study=study, limit=200) if p.study.id == prior_study_id),
        None,
    )
    if prior is None or prior.study.tenant_id != study.tenant_id:
        audit.record_denied(
            session,
            actor=principal.actor,
            action="study.read_prior",
            object_type="study",
            object_id=prior_study_id,
            tenant_id=principal.tenant_id,
            detail={"via_item": str(item.id)},
        )
        raise PriorNotFound("No such prior study for this worklist item's patient.")
    in_scope = scope is not None and scope.allows(
        prior.study.tenant_id, prior.study.organization_id
    )
    reading = item.status == "CLAIMED" and item.claimed_by_id == principal.user_id
    if not in_scope and not reading:
        raise NotClaimedByYou(
            "This prior comes from a clinic your hospital does not read for: claim the current "
            "study on the worklist first, then open its priors."
        )
    audit.record(
        session,
        actor=principal.actor,
        action="study.read_prior",
        object_type="study",
        object_id=prior.study.id,
        tenant_id=prior.study.tenant_id,
        study_id=prior.study.id,
        detail={
            "via_item": str(item.id),
            "current_study_id": str(study.id),
            "match": prior.match.value,
            "outside_reading_agreements": not in_scope,
        },
    )
    return prior
