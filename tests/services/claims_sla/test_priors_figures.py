"""Priors across the consortium (never across tenants) and turnaround percentiles."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from services.kit.db import session_scope
from services.models import InferenceJob, PatientIndexEntry, Study, WorklistItem
from tests.factories.tenant import Consortium
from tests.fixtures.api_client import Api
from tests.fixtures.databases import Database
from tests.services.claims_sla.conftest import add_study, assert_error

pytestmark = pytest.mark.integration

PATIENT = {"patient_id": "P-0001", "patient_name": "Zhang^San", "patient_birth_date": "19600101"}


class TestPriors:
    def test_priors_match_on_id_and_issuer_or_on_name_and_birth_date_only(
        self, api: Api, use_database: Database, consortium: Consortium, other: Consortium
    ) -> None:
        same_id, _ = add_study(use_database, consortium.clinic_a, **PATIENT)
        elsewhere, _ = add_study(
            use_database,
            consortium.clinic_b,
            **{**PATIENT, "patient_id": "B-77", "patient_name": "ZHANG SAN"},
        )
        name_only, _ = add_study(
            use_database,
            consortium.clinic_b,
            **{**PATIENT, "patient_id": "B-78", "patient_birth_date": "19700101"},
        )
        no_birth, _ = add_study(
            use_database,
            consortium.clinic_b,
            **{**PATIENT, "patient_id": "B-79", "patient_birth_date": ""},
        )
        foreign, _ = add_study(use_database, other.clinic_a, **PATIENT)
        with use_database.factory() as session:  # same ID and even the same issuer string
            session.execute(
                update(PatientIndexEntry)
                .where(PatientIndexEntry.study_id == foreign.id)
                .values(issuer=consortium.clinic_a.patient_id_issuer)
            )
            session.commit()
        current, item = add_study(use_database, consortium.clinic_a, **PATIENT)

        by_study = api.get(consortium.radiologist, f"/api/v1/studies/{current.id}/priors")
        by_item = api.get(consortium.radiologist, f"/api/v1/worklist/{item.id}/priors")

        assert by_study.status_code == 200, by_study.text
        listed = {p["study_id"]: p["match"] for p in by_study.json()}
        assert listed == {str(same_id.id): "patient_id", str(elsewhere.id): "name_birth_date"}
        assert {p["study_id"] for p in by_item.json()} == set(listed)
        for absent in (name_only, no_birth, foreign):
            assert str(absent.id) not in listed

    def test_priors_of_another_tenant_are_404_and_clinic_staff_403(
        self, api: Api, use_database: Database, consortium: Consortium, other: Consortium
    ) -> None:
        study, item = add_study(use_database, consortium.clinic_a, **PATIENT)
        response = api.get(other.radiologist, f"/api/v1/studies/{study.id}/priors")
        assert_error(response, 404, "study_not_found")
        response = api.get(other.radiologist, f"/api/v1/worklist/{item.id}/priors")
        assert_error(response, 404, "worklist_item_not_found")
        response = api.get(consortium.clinic_staff, f"/api/v1/studies/{study.id}/priors")
        assert_error(response, 403, "forbidden")


DAY = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)


def _timeline(db: Database, study: Study, item: WorklistItem, minutes: int) -> None:
    """Received at DAY; AI after minutes/2, claim after minutes, signed after 2*minutes."""
    with session_scope(db.factory) as session:
        session.execute(update(Study).where(Study.id == study.id).values(received_at=DAY))
        session.execute(
            update(WorklistItem)
            .where(WorklistItem.id == item.id)
            .values(
                first_claimed_at=DAY + timedelta(minutes=minutes),
                reported_at=DAY + timedelta(minutes=2 * minutes),
                priority=700,
            )
        )
        session.add(
            InferenceJob(
                tenant_id=study.tenant_id,
                study_id=study.id,
                model_name="turnaround-test",
                model_version="1",
                status="SUCCEEDED",
                finished_at=DAY + timedelta(minutes=minutes / 2),
            )
        )


class TestTurnaround:
    def test_percentiles_on_known_data(
        self, api: Api, use_database: Database, consortium: Consortium, other: Consortium
    ) -> None:
        for minutes in (10, 20, 30, 40):
            study, item = add_study(use_database, consortium.clinic_a)
            _timeline(use_database, study, item, minutes)
        params = {"since": "2026-01-05T00:00:00Z", "until": "2026-01-06T00:00:00Z"}

        response = api.get(consortium.consortium_admin, "/api/v1/figures/turnaround", **params)

        assert response.status_code == 200, response.text
        (group,) = response.json()
        assert (group["key"], group["items"]) == (str(consortium.clinic_a.id), 4)
        assert group["received_to_claim"] == {"count": 4, "p50": 25.0, "p90": 37.0, "p95": 38.5}
        assert group["received_to_signed"] == {"count": 4, "p50": 50.0, "p90": 74.0, "p95": 77.0}
        assert group["received_to_ai"] == {"count": 4, "p50": 12.5, "p90": 18.5, "p95": 19.25}
        band = api.get(
            consortium.radiologist, "/api/v1/figures/turnaround", group_by="priority_band", **params
        )
        assert [g["key"] for g in band.json()] == ["critical"]
        assert api.get(other.consortium_admin, "/api/v1/figures/turnaround", **params).json() == []
        assert_error(
            api.get(consortium.clinic_staff, "/api/v1/figures/turnaround"), 403, "forbidden"
        )
        backwards = {"since": params["until"], "until": params["since"]}
        assert_error(
            api.get(consortium.consortium_admin, "/api/v1/figures/turnaround", **backwards),
            422,
            "invalid_input",
        )
