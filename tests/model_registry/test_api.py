"""Admin API of the registry: models, subscriptions (tenant-scoped), monitoring; shadow hidden.

Agreement is computed from signed reports and the readers' per-finding decisions
(``report_finding_decisions``); rows for reports and decisions are inserted as the report
workflow stores them, so the figures can be checked by hand.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import update

from services.finding import service as finding_service
from services.finding.service import FindingInput
from services.inference_job import service as job_service
from services.kit.clock import utc_now
from services.model_registry import service as registry
from services.models import InferenceJob, Report, ReportFindingDecision
from services.study import service as study_service
from tests.factories import tenant as tenant_factory
from tests.factories.tenant import Consortium
from tests.fixtures.api_client import Api
from tests.fixtures.databases import Database
from tests.model_registry.conftest import register_checked
from tests.model_registry.manifests import shipped_data
from tests.model_registry.studies import chest_study, register

pytestmark = pytest.mark.integration

RETAKE, ADEQUATE = "image-quality-retake", "image-quality-adequate"
LABELS = {RETAKE: ("Retake", "重拍"), ADEQUATE: ("Adequate", "合格")}


@pytest.fixture
def consortium(clean_registry: Database) -> Consortium:
    return tenant_factory.build_consortium(clean_registry.factory)


@pytest.fixture
def other(clean_registry: Database) -> Consortium:
    return tenant_factory.build_consortium(clean_registry.factory)


@pytest.fixture
def catalog(clean_registry: Database, consortium: Consortium) -> Database:
    """image_quality v1 enabled and v2 in shadow; the consortium subscribes."""
    with clean_registry.factory.begin() as session:
        register_checked(session, shipped_data())
        register_checked(session, shipped_data() | {"version": "2"}, state="shadow")
        registry.subscribe(session, tenant_id=consortium.tenant_id, model_name="image_quality")
    return clean_registry


@dataclass(frozen=True)
class Outcome:
    """What one model version said about one study."""

    code: str | None  # None: the run failed
    infer_ms: int = 20
    mean: float = 0.5
    modality: str = "DX"
    days_ago: float = 1.0


def run_jobs(db: Database, study_id: uuid.UUID, outcomes: dict[str, Outcome]) -> None:
    """Finish each version's job of a study as the runner would record it."""
    with db.factory.begin() as session:
        for job in job_service.jobs_of_study(session, study_id):
            said = outcomes[job.model_version]
            finished = utc_now() - timedelta(days=said.days_ago)
            if said.code is None:
                job_service.mark_failed(job=job, reason="PixelDataError: test")
            else:
                job_service.mark_succeeded(
                    job=job,
                    infer_ms=said.infer_ms,
                    input_series_uid=job.input_series_uid,
                    input_stats={"mean": said.mean, "std": 0.2, "p50": said.mean},
                )
                en, zh = LABELS[said.code]
                finding_service.record(
                    session,
                    job=job,
                    findings=[FindingInput(said.code, en, zh, 0.8, "normal")],
                )
            session.flush()
            session.execute(
                update(InferenceJob)
                .where(InferenceJob.id == job.id)
                .values(
                    started_at=finished - timedelta(milliseconds=said.infer_ms + 100),
                    finished_at=finished,
                    input_modality=said.modality,
                )
            )
        study_service.settle_ai_status(session, study_id=study_id)


def sign_with_decisions(
    db: Database, consortium: Consortium, study_id: uuid.UUID, decisions: dict[str, str]
) -> None:
    """A signed report whose reader decided on the visible (v1) findings by code."""
    author = consortium.radiologist.user_id
    with db.factory.begin() as session:
        report = Report(
            tenant_id=consortium.tenant_id,
            study_id=study_id,
            status="FINAL",
            author_id=author,
            signed_at=utc_now(),
        )
        session.add(report)
        session.flush()
        for finding in finding_service.of_study(session, study_id):
            if finding.code in decisions:
                session.add(
                    ReportFindingDecision(
                        tenant_id=consortium.tenant_id,
                        report_id=report.id,
                        finding_id=finding.id,
                        decision=decisions[finding.code],
                        reader_id=author,
                    )
                )


def study(
    db: Database,
    consortium: Consortium,
    v1: Outcome,
    v2: Outcome,
    decisions: dict[str, str] | None,
) -> uuid.UUID:
    registered, jobs = register(db, consortium, chest_study("PA"))
    assert sorted((j.model_version, j.shadow) for j in jobs) == [("1", False), ("2", True)]
    run_jobs(db, registered.id, {"1": v1, "2": v2})
    if decisions is not None:
        sign_with_decisions(db, consortium, registered.id, decisions)
    return registered.id


class TestModelsAndSubscriptions:
    def test_admin_lists_models_with_notice_and_subscription(
        self, api: Api, catalog: Database, consortium: Consortium
    ):
        response = api.get(consortium.consortium_admin, "/api/v1/ai/models")
        assert response.status_code == 200, response.text
        rows = {r["version"]: r for r in response.json()}
        assert rows["1"]["state"] == "enabled"
        assert rows["2"]["state"] == "shadow"
        assert rows["1"]["subscribed"] is True
        assert rows["1"]["notice_en"] == "AI-assisted, for reference (research use only)"
        assert rows["1"]["finding_codes"] == [RETAKE, ADEQUATE]

    def test_subscribe_list_and_delete(self, api: Api, catalog: Database, other: Consortium):
        admin = other.consortium_admin
        created = api.post(admin, "/api/v1/ai/subscriptions", {"model_name": "image_quality"})
        assert created.status_code == 201, created.text
        listed = api.get(admin, "/api/v1/ai/subscriptions").json()
        assert [s["model_name"] for s in listed] == ["image_quality"]
        deleted = api.delete(admin, f"/api/v1/ai/subscriptions/{created.json()['id']}")
        assert deleted.status_code == 204
        assert api.get(admin, "/api/v1/ai/subscriptions").json() == []

    def test_unknown_model_cannot_be_subscribed(
        self, api: Api, catalog: Database, other: Consortium
    ):
        answer = api.post(
            other.consortium_admin, "/api/v1/ai/subscriptions", {"model_name": "nope"}
        )
        assert answer.status_code == 404

    def test_other_tenants_subscription_is_not_found(
        self, api: Api, catalog: Database, consortium: Consortium, other: Consortium
    ):
        mine = api.get(consortium.consortium_admin, "/api/v1/ai/subscriptions").json()
        [subscription] = mine
        url = f"/api/v1/ai/subscriptions/{subscription['id']}"
        assert api.delete(other.consortium_admin, url).status_code == 404
        assert api.get(other.consortium_admin, "/api/v1/ai/subscriptions").json() == []
        assert len(api.get(consortium.consortium_admin, "/api/v1/ai/subscriptions").json()) == 1

    def test_readers_may_not_manage_models(
        self, api: Api, catalog: Database, consortium: Consortium
    ):
        assert api.get(consortium.radiologist, "/api/v1/ai/models").status_code == 403
        answer = api.post(consortium.radiologist, "/api/v1/ai/subscriptions", {"model_name": "x"})
        assert answer.status_code == 403


class TestShadowIsHiddenFromReaders:
    def test_study_api_shows_only_the_visible_version_with_its_notice(
        self, api: Api, catalog: Database, consortium: Consortium
    ):
        study_id = study(catalog, consortium, Outcome(ADEQUATE), Outcome(RETAKE), None)
        answer = api.get(consortium.radiologist, f"/api/v1/studies/{study_id}")
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert [(f["code"], f["model_version"]) for f in body["findings"]] == [(ADEQUATE, "1")]
        assert body["findings"][0]["notice_en"] == "AI-assisted, for reference (research use only)"
        assert body["findings"][0]["notice_zh"] == "AI辅助，仅供参考（仅供科研）"
        assert body["ai_status"] == "AI_DONE"
        with catalog.factory() as session:
            every = finding_service.of_study(session, study_id, include_shadow=True)
            assert sorted(f.model_version for f in every) == ["1", "2"]
            worst = finding_service.worst(session, study_id)
            assert worst is not None
            assert worst.label == "Adequate"  # the shadow's retake does not raise priority


class TestMonitoring:
    @pytest.fixture
    def history(self, catalog: Database, consortium: Consortium) -> Database:
        # v1 (visible) and v2 (shadow) on four signed studies, one failure, two old runs.
        study(catalog, consortium, Outcome(RETAKE, 10), Outcome(RETAKE), {RETAKE: "accept"})
        study(catalog, consortium, Outcome(RETAKE, 20), Outcome(ADEQUATE), {RETAKE: "reject"})
        study(catalog, consortium, Outcome(ADEQUATE, 30), Outcome(RETAKE), {ADEQUATE: "reject"})
        study(catalog, consortium, Outcome(ADEQUATE, 40), Outcome(ADEQUATE), {ADEQUATE: "accept"})
        study(catalog, consortium, Outcome(None), Outcome(None), {})
        old = Outcome(ADEQUATE, 15, mean=0.2, modality="CR", days_ago=10)
        for _ in range(2):
            study(catalog, consortium, old, old, {})
        return catalog

    def url(self, version: str) -> str:
        return f"/api/v1/ai/models/image_quality/{version}/monitoring"

    def test_visible_version(self, api: Api, history: Database, consortium: Consortium):
        answer = api.get(consortium.consortium_admin, self.url("1"))
        assert answer.status_code == 200, answer.text
        m = answer.json()
        assert (m["runs"], m["succeeded"], m["failed"]) == (5, 4, 1)
        assert m["failure_rate"] == 0.2
        assert m["infer_ms"]["p50"] == 25.0
        assert m["infer_ms"]["count"] == 4
        assert m["run_ms"]["p50"] == 125.0
        retake = next(a for a in m["agreement"] if a["code"] == RETAKE)
        # s1 TP, s2 FP (rejected), s3/s4 TN; the failed run is not compared.
        assert retake["true_positive"] == 1
        assert retake["false_positive"] == 1
        assert retake["false_negative"] == 0
        assert retake["ppv"] == 0.5
        assert retake["sensitivity"] == 1.0

    def test_shadow_version_is_judged_by_the_readers_decisions_on_the_visible_one(
        self, api: Api, history: Database, consortium: Consortium
    ):
        m = api.get(consortium.consortium_admin, self.url("2")).json()
        retake = next(a for a in m["agreement"] if a["code"] == RETAKE)
        # v2 said retake on s1 (reader accepted: TP) and s3 (nobody accepted a retake: FP);
        # s2's retake was rejected and v2 said adequate there: TN; s4 TN.
        assert (retake["true_positive"], retake["false_positive"]) == (1, 1)
        assert (retake["false_negative"], retake["true_negative"]) == (0, 2)
        adequate = next(a for a in m["agreement"] if a["code"] == ADEQUATE)
        # The reader accepted "adequate" on s4 (v2 agreed: TP), rejected it on s3.
        assert adequate["true_positive"] == 1
        assert adequate["false_positive"] == 1  # s2: v2 said adequate, nobody accepted it

    def test_input_drift_against_the_baseline(
        self, api: Api, history: Database, consortium: Consortium
    ):
        drift = api.get(consortium.consortium_admin, self.url("1")).json()["drift"]
        assert drift["baseline_runs"] == 2
        assert drift["current_runs"] == 4
        assert drift["modality_mix_baseline"] == {"CR": 1.0}
        assert drift["modality_mix_current"] == {"DX": 1.0}
        assert drift["modality_mix_distance"] == 1.0
        assert drift["pixel_shift"]["mean"]["current_mean"] == 0.5
        assert drift["drifting"] is True

    def test_other_tenant_sees_none_of_it(self, api: Api, history: Database, other: Consortium):
        m = api.get(other.consortium_admin, self.url("1")).json()
        assert (m["runs"], m["succeeded"]) == (0, 0)
        assert all(a["studies"] == 0 for a in m["agreement"])

    def test_unknown_version_is_404(self, api: Api, history: Database, consortium: Consortium):
        answer = api.get(consortium.consortium_admin, self.url("9"))
        assert answer.status_code == 404
