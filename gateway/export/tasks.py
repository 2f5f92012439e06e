"""Celery task: run an export an administrator requested over the API (queue "default").

Arguments are ids only (no accession numbers or names in the broker). The export goes to the
platform's object store under ``exports/{export_id}/``: the API never lets a caller choose a
path or bucket. The account is re-checked here, so a role revoked meanwhile stops the export.
"""

from __future__ import annotations

import logging
import uuid

from gateway.api.dependencies import object_store, orthanc_client
from gateway.export.copier import Destination
from gateway.export.selection import ExportRefused, Selection
from gateway.export.service import export_studies
from gateway.orthanc.errors import OrthancUnavailable
from services.contracts.task_names import EXPORT_DEIDENTIFIED
from services.kit.celery import task
from services.kit.settings import get_settings

log = logging.getLogger("radbridge.export")


def export_prefix(export_id: str) -> str:
    """Return the object-store prefix of an API-requested export."""
    return f"exports/{uuid.UUID(export_id)}/"


@task(EXPORT_DEIDENTIFIED, retry_on=(OrthancUnavailable,), max_retries=3)
def export_deidentified_task(
    export_id: str, user_id: str, study_ids: list[str], allow_burned_in: bool = False
) -> dict[str, int]:
    """Export the studies, de-identified, to the object store; return the counts."""
    prefix = export_prefix(export_id)
    destination = Destination(object_store(), prefix, f"object store {prefix}")
    try:
        report = export_studies(
            account=uuid.UUID(user_id),
            selection=Selection(study_ids=tuple(uuid.UUID(s) for s in study_ids)),
            destination=destination,
            orthanc=orthanc_client(),
            settings=get_settings(),
            allow_burned_in=allow_burned_in,
            export_id=export_id,
        )
    except ExportRefused as exc:  # permanent: retrying cannot help
        log.warning("export %s refused: %s", export_id, exc.message)
        return {"files": 0, "blocked": 0, "refused": 1}
    return {"files": report.files, "blocked": report.blocked, "refused": 0}
