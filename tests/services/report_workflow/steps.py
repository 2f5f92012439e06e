"""Steps the report workflow tests share: AI findings on a study, URLs, error checks."""

from __future__ import annotations

from typing import Any

from httpx import Response

from services.finding import service as finding_service
from services.finding.service import FindingInput
from services.kit.db import session_scope
from services.models import AiFinding, InferenceJob, Study
from tests.factories.tenant import Account
from tests.fixtures.api_client import Api
from tests.fixtures.databases import Database


def add_ai_findings(db: Database, study: Study, *codes: str) -> list[AiFinding]:
    """Record one AI run on ``study`` with one finding per code, through the finding service."""
    with session_scope(db.factory) as session:
        job = InferenceJob(
            tenant_id=study.tenant_id,
            study_id=study.id,
            model_name="chest-ct-test",
            model_version="1.0",
            status="SUCCEEDED",
        )
        session.add(job)
        session.flush()
        finding_service.record(
            session,
            job=job,
            findings=[
                FindingInput(
                    code=code,
                    label_en=f"AI {code}",
                    label_zh=f"AI {code} 中文",
                    score=0.9,
                    severity="significant",
                )
                for code in codes
            ],
        )
        return list(finding_service.of_study(session, study.id))


def report_url(study: Study, tail: str = "") -> str:
    return f"/api/v1/studies/{study.id}/report{tail}"


def library_id(api: Api, account: Account, key: str, language: str) -> str:
    rows = api.get(account, "/api/v1/report-templates", language=language).json()
    (row,) = [r for r in rows if r["key"] == key and r["library"]]
    return str(row["id"])


def assert_error(response: Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["error"] == code, body
    return body
