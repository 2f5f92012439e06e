"""Opening a prior from a consortium clinic outside the reading hospital's agreements.

Clinic C of the same consortium is read by another hospital, so the county hospital's readers
cannot open C's studies directly; the reader holding the claim on the current study can open
its patient's priors from C through the worklist item. Never across consortia.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import select

from services.models import AuditEvent, Organization, Study, Tenant, WorklistItem
from services.tenant import service as tenant_service
from tests.factories.tenant import Consortium
from tests.fixtures.api_client import Api
from tests.fixtures.databases import Database
from tests.services.claims_sla.conftest import add_study, assert_error

pytestmark = pytest.mark.integration

PATIENT = {"patient_id": "P-42", "patient_name": "Li^Si", "patient_birth_date": "19580312"}


@dataclass
class Setting:
    current: Study
    item: WorklistItem
    far_prior: Study  # from clinic C, read by another hospital of the consortium
    near_prior: Study  # from clinic B, read by the county hospital


def _clinic_read_elsewhere(db: Database, consortium: Consortium) -> Organization:
    with db.factory() as session:
        tenant = session.get_one(Tenant, consortium.tenant_id)
        other_hospital = tenant_service.create_organization(
            session, tenant=tenant, code="h2", name="City Hospital", kind="hospital"
        )
        clinic = tenant_service.create_organization(
            session, tenant=tenant, code="c", name="Clinic C 丙村卫生室", kind="clinic"
        )
        tenant_service.add_reading_agreement(session, reader=other_hospital, clinic=clinic)
        session.commit()
        return clinic


@pytest.fixture
def setting(use_database: Database, consortium: Consortium) -> Setting:
    clinic_c = _clinic_read_elsewhere(use_database, consortium)
    far, _ = add_study(use_database, clinic_c, **{**PATIENT, "patient_id": "C-9"})
    near, _ = add_study(use_database, consortium.clinic_b, **{**PATIENT, "patient_id": "B-1"})
    current, item = add_study(use_database, consortium.clinic_a, **PATIENT)
    return Setting(current, item, far, near)


def _url(s: Setting, study: Study) -> str:
    return f"/api/v1/worklist/{s.item.id}/priors/{study.id}"


def test_listed_prior_from_a_non_agreement_clinic_opens_for_the_claim_holder_only(
    api: Api, use_database: Database, consortium: Consortium, setting: Setting
) -> None:
    reader = consortium.radiologist
    listed = api.get(reader, f"/api/v1/worklist/{setting.item.id}/priors").json()
    urls = {p["study_id"]: p["open_url"] for p in listed}
    assert urls[str(setting.far_prior.id)] == _url(setting, setting.far_prior)
    assert_error(api.get(reader, f"/api/v1/studies/{setting.far_prior.id}"), 404, "study_not_found")
    assert_error(api.get(reader, _url(setting, setting.far_prior)), 409, "not_claimed_by_you")

    assert api.post(reader, f"/api/v1/worklist/{setting.item.id}/claim").status_code == 200
    opened = api.get(reader, _url(setting, setting.far_prior))

    assert opened.status_code == 200, opened.text
    body = opened.json()
    assert body["study_id"] == str(setting.far_prior.id)
    assert body["study_instance_uid"] == setting.far_prior.study_instance_uid
    assert body["match"] == "name_birth_date" and len(body["series"]) == 1
    with use_database.factory() as session:
        event = session.scalars(
            select(AuditEvent).where(
                AuditEvent.action == "study.read_prior",
                AuditEvent.study_id == setting.far_prior.id,
            )
        ).one()
    assert event.actor == f"user:{reader.user_id}"
    assert event.detail["via_item"] == str(setting.item.id)
    assert event.detail["outside_reading_agreements"] is True
    colleague = consortium.senior_radiologist  # same hospital, but not reading this study
    assert_error(api.get(colleague, _url(setting, setting.far_prior)), 409, "not_claimed_by_you")


def test_prior_inside_the_agreements_opens_without_a_claim(
    api: Api, consortium: Consortium, setting: Setting
) -> None:
    response = api.get(consortium.radiologist, _url(setting, setting.near_prior))
    assert response.status_code == 200, response.text
    assert response.json()["match"] == "name_birth_date"


def test_no_prior_opens_across_consortia_or_for_another_patient(
    api: Api, use_database: Database, consortium: Consortium, other: Consortium, setting: Setting
) -> None:
    reader = consortium.radiologist
    foreign, _ = add_study(use_database, other.clinic_a, **PATIENT)  # same person, other tenant
    stranger, _ = add_study(
        use_database, consortium.clinic_b, patient_id="X-1", patient_name="Wang^Wu"
    )
    assert api.post(reader, f"/api/v1/worklist/{setting.item.id}/claim").status_code == 200

    for study in (foreign, stranger, setting.current):
        assert_error(api.get(reader, _url(setting, study)), 404, "prior_not_found")
    outsider = api.get(other.radiologist, _url(setting, setting.far_prior))
    assert_error(outsider, 404, "worklist_item_not_found")
    staff = api.get(consortium.clinic_staff, _url(setting, setting.near_prior))
    assert_error(staff, 403, "forbidden")
    with use_database.factory() as session:
        denied = session.scalars(
            select(AuditEvent).where(
                AuditEvent.action == "study.read_prior", AuditEvent.outcome == "denied"
            )
        ).all()
    assert {e.object_id for e in denied} >= {str(foreign.id), str(stranger.id)}
