"""Routing new studies through the registry: subscriptions, rules, series choice, shadow, skip."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from services.inference_job import service as job_service
from services.model_registry import service as registry
from services.model_registry.exceptions import IllegalModelState, ManifestChanged
from services.model_registry.manifest import parse_manifest
from services.models import InferenceJob, Study
from services.study import service as study_service
from tests.fixtures.consortium import Consortium
from tests.fixtures.databases import Database
from tests.model_registry.conftest import register_checked
from tests.model_registry.manifests import chest_manifest, ct_manifest, shipped_data
from tests.model_registry.studies import chest_study, ct_study, register

pytestmark = pytest.mark.integration


@pytest.fixture
def catalog(clean_registry: Database, consortium: Consortium) -> Database:
    """Chest (enabled, certified), lung CT (enabled) and image quality (enabled) registered;
    the consortium subscribes to chest and lung CT."""
    with clean_registry.factory.begin() as session:
        for data in (chest_manifest(), ct_manifest(), shipped_data()):
            register_checked(session, data)
        for name in ("chest_triage", "lung_ct"):
            registry.subscribe(session, tenant_id=consortium.tenant.id, model_name=name)
    return clean_registry


class TestRouting:
    def test_chest_model_takes_the_frontal_view(self, catalog: Database, consortium: Consortium):
        facts = chest_study("LL", "PA")
        study, [job] = register(catalog, consortium, facts)
        assert (job.model_name, job.model_version) == ("chest_triage", "2")
        assert job.input_series_uid == facts.series[1].series_instance_uid
        assert job.input_modality == "DX"
        assert job.shadow is False
        assert study.ai_status == "AI_PENDING"

    def test_ct_model_takes_the_thinnest_axial_series(
        self, catalog: Database, consortium: Consortium
    ):
        facts, uids = ct_study()
        _study, [job] = register(catalog, consortium, facts)
        assert job.model_name == "lung_ct"
        assert job.input_series_uid == uids["thin"]

    def test_a_model_run_by_signed_reports_gets_no_job_when_a_study_arrives(
        self, catalog: Database, consortium: Consortium
    ):
        with catalog.factory.begin() as session:
            registry.subscribe(session, tenant_id=consortium.tenant.id, model_name="lung_ct")
            manifest = ct_manifest()
            manifest["version"] = "2"
            manifest["match"]["trigger"] = "signed_report"  # like the shipped nodule_vdt
            register_checked(session, manifest)
            registry.set_state(session, name="lung_ct", version="1", state="disabled")
        facts, _uids = ct_study()

        study, jobs = register(catalog, consortium, facts)

        assert jobs == []
        assert study.ai_status == "AI_SKIPPED"
        assert "lung_ct v2: runs on signed reports" in study.ai_status_reason

    def test_unsubscribed_model_does_not_run(self, catalog: Database, consortium: Consortium):
        # image_quality is enabled and fits DX, but this consortium does not subscribe to it.
        _study, jobs = register(catalog, consortium, chest_study("PA"))
        assert [j.model_name for j in jobs] == ["chest_triage"]

    def test_every_applicable_model_gets_its_own_job(
        self, catalog: Database, consortium: Consortium
    ):
        with catalog.factory.begin() as session:
            registry.subscribe(session, tenant_id=consortium.tenant.id, model_name="image_quality")
        _study, jobs = register(catalog, consortium, chest_study("AP"))
        assert sorted(j.model_name for j in jobs) == ["chest_triage", "image_quality"]
        assert all(j.status == "QUEUED" for j in jobs)

    def test_study_no_model_applies_to_is_skipped_with_the_reason(
        self, catalog: Database, consortium: Consortium
    ):
        study, jobs = register(catalog, consortium, chest_study("LL"))
        assert jobs == []
        assert study.ai_status == "AI_SKIPPED"
        assert "chest_triage v2: no series fits (view LL)" in study.ai_status_reason
        assert "lung_ct v1: no series fits (modality DX)" in study.ai_status_reason

    def test_tenant_without_subscriptions_is_skipped(
        self, catalog: Database, consortium: Consortium
    ):
        with catalog.factory.begin() as session:
            for name in ("chest_triage", "lung_ct"):
                registry.unsubscribe(session, tenant_id=consortium.tenant.id, model_name=name)
        study, jobs = register(catalog, consortium, chest_study("PA"))
        assert jobs == []
        assert study.ai_status == "AI_SKIPPED"
        assert study.ai_status_reason == "no AI model is subscribed for this consortium"

    def test_disabled_version_is_not_routed(self, catalog: Database, consortium: Consortium):
        with catalog.factory.begin() as session:
            registry.set_state(session, name="chest_triage", version="2", state="disabled")
        study, jobs = register(catalog, consortium, chest_study("PA"))
        assert jobs == []
        assert study.ai_status == "AI_SKIPPED"


class TestShadowRouting:
    def test_shadow_only_study_runs_but_stays_skipped_for_readers(
        self, catalog: Database, consortium: Consortium
    ):
        with catalog.factory.begin() as session:
            registry.set_state(session, name="chest_triage", version="2", state="shadow")
        study, [job] = register(catalog, consortium, chest_study("PA"))
        assert job.shadow is True
        assert study.ai_status == "AI_SKIPPED"
        assert study.ai_status_reason.startswith("only shadow model versions apply")

    def test_shadow_run_finishing_does_not_move_the_readers_status(
        self, catalog: Database, consortium: Consortium
    ):
        with catalog.factory.begin() as session:
            registry.set_state(session, name="chest_triage", version="2", state="shadow")
        study, [job] = register(catalog, consortium, chest_study("PA"))
        with catalog.factory.begin() as session:
            row = session.get(InferenceJob, job.id)
            assert row is not None
            job_service.mark_succeeded(job=row, infer_ms=5, input_series_uid=row.input_series_uid)
            study_service.settle_ai_status(session, study_id=study.id)
        with catalog.factory() as session:
            assert (
                session.scalar(select(Study.ai_status).where(Study.id == study.id)) == "AI_SKIPPED"
            )


class TestStates:
    def test_unchecked_version_cannot_be_enabled(self, clean_registry: Database):
        with clean_registry.factory.begin() as session:
            registry.register(session, manifest=parse_manifest(ct_manifest()), repository_uri="/x")
            with pytest.raises(IllegalModelState, match="has not passed its check inference"):
                registry.set_state(session, name="lung_ct", version="1", state="enabled")

    def test_manifest_of_a_checked_version_cannot_change(self, clean_registry: Database):
        with clean_registry.factory.begin() as session:
            register_checked(session, ct_manifest())
            changed = ct_manifest()
            changed["match"]["min_slices"] = 40
            with pytest.raises(ManifestChanged, match="new version number"):
                registry.register(session, manifest=parse_manifest(changed), repository_uri="/x")
            # The same manifest again is a no-op.
            registry.register(session, manifest=parse_manifest(ct_manifest()), repository_uri="/x")
