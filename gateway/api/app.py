"""The gateway process's HTTP app: the clinic-facing DICOMweb door to Orthanc."""

from __future__ import annotations

from fastapi import FastAPI

from gateway.dicomweb.router import router as dicomweb_router
from gateway.export.router import router as export_router
from gateway.upload.router import router as upload_router
from gateway.upload_web.router import router as upload_page_router
from gateway.viewer_web.router import router as viewer_router
from services.api.errors import install_error_handlers
from services.kit.memory import keep_freed_memory


def create_app() -> FastAPI:
    """Build the gateway app (DICOMweb STOW-RS, health).

    Each HTTP worker process builds its own app, so this is also where the worker is told to
    reuse the memory of the large bodies it receives (see ``keep_freed_memory``).
    """
    keep_freed_memory()
    app = FastAPI(title="RadBridge gateway", version="0.1.0")
    install_error_handlers(app)
    app.include_router(dicomweb_router)
    app.include_router(upload_router)  # tus resumable uploads
    app.include_router(upload_page_router)  # the clinic upload page (Uppy)
    app.include_router(export_router)  # de-identified research exports (admins)
    app.include_router(viewer_router)  # the OHIF image viewer, reading through /dicomweb

    @app.get("/healthz", tags=["ops"])
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
