"""Prior studies across the consortium, matched through the patient index.

A study's patient is identified by patient ID + issuer within its tenant. Studies from other
issuers (another clinic numbering its own patients) are listed only through the guarded
fallback: same normalized name AND same full birth date AND no contradicting sex, marked as a
probable match. Nothing is ever merged, and a name alone never matches. Queries never leave
the study's tenant.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from services.audit import service as audit
from services.auth.principal import Principal
from services.domain.patient_match import MatchBasis, PatientKeys, keys_of, match
from services.models import PatientIndexEntry, Study
from services.worklist import priors_repository


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


def priors_of(
    session: Session, *, study: Study, principal: Principal, limit: int = 50
) -> list[Prior]:
    """Return the patient's other studies received before ``study``, newest first (audited)."""
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
