"""A study sent as a batch of files reaches readers only when the whole batch is stored."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select, update

from services.kit.clock import utc_now
from services.models import (
    InferenceJob,
    QuarantineItem,
    UploadBatch,
    UploadBatchFile,
    WorklistItem,
)
from tests.fixtures.consortium import Consortium, build_consortium
from tests.fixtures.databases import Database
from tests.fixtures.orthanc import OrthancHandle
from tests.gateway.upload.conftest import drain, make_study, token_for
from tests.gateway.upload.tus import Tus

pytestmark = pytest.mark.integration


class TestBatchGate:
    def test_the_study_waits_for_the_last_file_of_its_batch(
        self,
        tus: Tus,
        gateway_url: str,
        orthanc: OrthancHandle,
        use_database: Database,
        tmp_path: Path,
    ) -> None:
        study_uid, paths = make_study(tmp_path, 3)
        for path in paths[:2]:
            tus.send(path.read_bytes(), filename=path.name, batch="ct-0001", batch_files="3")

        # StableAge is 1 s: the change feed reports the study stable, but it stays held.
        assert drain(orthanc, use_database, study_uid, timeout=4) == []
        status = httpx.get(f"{gateway_url}/uploads/batches/ct-0001", headers=tus.auth).json()
        assert (status["status"], status["received_files"], status["expected_files"]) == (
            "OPEN",
            2,
            3,
        )
        early = httpx.post(f"{gateway_url}/uploads/batches/ct-0001/finalize", headers=tus.auth)
        assert early.status_code == 409
        assert "2 of 3 files" in early.json()["message"]

        tus.send(paths[2].read_bytes(), filename=paths[2].name, batch="ct-0001", batch_files="3")

        final = httpx.post(f"{gateway_url}/uploads/batches/ct-0001/finalize", headers=tus.auth)
        assert final.status_code == 200
        assert final.json()["studies"] == [study_uid]
        (study,) = drain(orthanc, use_database, study_uid, timeout=20)
        with use_database.factory() as session:
            item = session.scalar(select(WorklistItem).where(WorklistItem.study_id == study.id))
            jobs = session.scalars(
                select(InferenceJob).where(InferenceJob.study_id == study.id)
            ).all()
        assert item is not None and len(jobs) == 1
        assert study.orthanc_id is not None
        assert orthanc.client.get_study(study.orthanc_id).series[0].instance_count == 3

    def test_a_batch_redeclared_with_another_file_count_is_409(self, tus: Tus) -> None:
        assert tus.create(10, batch="b-x", batch_files="3").status_code == 201

        response = tus.create(10, batch="b-x", batch_files="4")

        assert response.status_code == 409
        assert "declared with 3 files" in response.json()["message"]

    def test_a_batch_without_its_file_count_is_refused(self, tus: Tus) -> None:
        response = tus.create(10, batch="b-y")
        assert response.status_code == 400
        assert "batch-files" in response.json()["message"]

    def test_another_tenants_batch_is_404(
        self, gateway_url: str, consortium: Consortium, use_database: Database
    ) -> None:
        owner = Tus(gateway_url, token_for(consortium, "staff_a"))
        assert owner.create(10, batch="mine", batch_files="1").status_code == 201
        with use_database.factory.begin() as session:
            other = build_consortium(session)
        stranger = Tus(gateway_url, token_for(other, "staff_a"))

        responses = [
            httpx.get(f"{gateway_url}/uploads/batches/mine", headers=stranger.auth),
            httpx.post(f"{gateway_url}/uploads/batches/mine/finalize", headers=stranger.auth),
        ]

        assert [r.status_code for r in responses] == [404, 404]


class TestAbandonedBatch:
    def test_a_batch_idle_past_its_ttl_is_quarantined_for_an_admin(
        self,
        tus: Tus,
        consortium: Consortium,
        orthanc: OrthancHandle,
        use_database: Database,
        tmp_path: Path,
    ) -> None:
        study_uid, paths = make_study(tmp_path, 3)
        tus.send(paths[0].read_bytes(), filename=paths[0].name, batch="gone", batch_files="3")
        long_ago = utc_now() - timedelta(days=4)
        with use_database.factory.begin() as session:
            batch = session.scalar(
                select(UploadBatch).where(
                    UploadBatch.organization_id == consortium.clinic_a.id, UploadBatch.key == "gone"
                )
            )
            assert batch is not None
            batch.created_at = long_ago
            session.execute(
                update(UploadBatchFile)
                .where(UploadBatchFile.batch_id == batch.id)
                .values(created_at=long_ago)
            )

        assert drain(orthanc, use_database, study_uid, timeout=4) == []

        with use_database.factory() as session:
            held = session.scalars(
                select(QuarantineItem).where(QuarantineItem.study_instance_uid == study_uid)
            ).all()
            status = session.scalar(select(UploadBatch.status).where(UploadBatch.key == "gone"))
        assert [(h.reason_code, h.organization_id) for h in held] == [
            ("upload_incomplete", consortium.clinic_a.id)
        ]
        assert "received 1 of 3 files" in held[0].reason
        assert status == "ABANDONED"
        late = tus.create(10, batch="gone", batch_files="3")
        assert late.status_code == 409 and "closed (abandoned)" in late.json()["message"]
