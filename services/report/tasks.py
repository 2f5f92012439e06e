"""Report tasks: thin shells that parse ids and call the rendering service."""

from __future__ import annotations

import uuid

from services.contracts.task_names import QUEUE_DEFAULT, RENDER_REPORT_PDF
from services.kit.celery import task
from services.kit.db import session_scope
from services.kit.settings import get_settings
from services.report import rendering
from services.report.signing.exceptions import RemoteSigningFailed


# OSError covers KeyImagesPending; RemoteSigningFailed: the CA's signing service was down.
@task(RENDER_REPORT_PDF, queue=QUEUE_DEFAULT, retry_on=(OSError, RemoteSigningFailed))
def render_pdf(*, report_id: str) -> None:
    """Render and store the PDF of a signed report (idempotent)."""
    with session_scope() as session:
        rendering.render_and_store(session, get_settings(), report_id=uuid.UUID(report_id))
