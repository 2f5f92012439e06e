"""The API process's composition root: routers, error handlers, health checks."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from sqlalchemy import text

from services.api.errors import install_error_handlers
from services.auth.router import router as auth_router
from services.critical.router import router as critical_router
from services.delivery.router import channels_router as delivery_channels_router
from services.delivery.router import log_router as delivery_log_router
from services.inference_job.router import router as ai_jobs_router
from services.kit.http import DbSession
from services.model_registry.router import router as model_registry_router
from services.quarantine.router import router as quarantine_router
from services.report.key_images_router import router as key_images_router
from services.report.router import router as report_router
from services.report.signing_router import router as signing_router
from services.report.template_router import router as report_template_router
from services.report.workflow_router import policy_router as report_policy_router
from services.report.workflow_router import review_router as report_review_router
from services.report.workflow_router import router as report_workflow_router
from services.study.priors_router import router as priors_router
from services.study.router import router as study_router
from services.tenant.dicom_nodes_router import router as dicom_nodes_router
from services.tenant.retention_router import router as retention_router
from services.worklist.claims_router import router as claims_router
from services.worklist.claims_router import settings_router as reading_settings_router
from services.worklist.figures_router import router as figures_router
from services.worklist.router import router as worklist_router
from services.worklist.weights_router import router as worklist_weights_router


def create_app() -> FastAPI:
    """Build the RadBridge REST API."""
    app = FastAPI(
        title="RadBridge API",
        version="0.1.0",
        description="Regional imaging diagnosis: studies, AI findings, worklists, reports.",
    )
    install_error_handlers(app)
    for router in (
        auth_router,
        study_router,
        priors_router,
        worklist_router,
        claims_router,
        reading_settings_router,
        figures_router,
        report_router,
        report_workflow_router,
        report_template_router,
        report_review_router,
        report_policy_router,
        delivery_channels_router,
        delivery_log_router,
        ai_jobs_router,
        model_registry_router,
        quarantine_router,
        retention_router,
        critical_router,
        key_images_router,
        dicom_nodes_router,
        signing_router,
        worklist_weights_router,
    ):
        app.include_router(router)

    @app.get("/healthz", tags=["ops"])
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", tags=["ops"])
    def readyz(session: DbSession) -> dict[str, Any]:
        session.execute(text("SELECT 1"))
        return {"status": "ready", "database": "ok"}

    return app
