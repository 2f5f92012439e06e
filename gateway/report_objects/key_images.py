"""Render a chosen key image once, through Orthanc's DICOMweb, into the object store.

The instance must belong to the report's own study (checked against Orthanc, not the
request), and the JPEG Orthanc returns is decoded before it is kept, so a failure shows up
here, recorded on the row, rather than as a broken PDF later.
"""

from __future__ import annotations

import io
import uuid

from PIL import Image, UnidentifiedImageError
from sqlalchemy.orm import Session

from gateway.dicomweb.upstream import OrthancDicomWeb
from services.kit.clock import utc_now
from services.kit.errors import NotFound
from services.kit.settings import CoreSettings
from services.models import Report, ReportKeyImage, Study
from services.report.key_images import image_key
from services.report.storage import object_store

VIEWPORT = "1024,1024"  # fits a half-page key image at print resolution


def capture(
    session: Session, settings: CoreSettings, dicomweb: OrthancDicomWeb, *, key_image_id: uuid.UUID
) -> str:
    """Capture one key image; return what happened ("captured", "failed: ...", "nothing")."""
    row = session.get(ReportKeyImage, key_image_id, with_for_update=True)
    if row is None or row.object_key is not None:
        return "nothing"
    report = session.get(Report, row.report_id)
    study = session.get(Study, report.study_id) if report else None
    if study is None:
        return "nothing"
    path = (
        f"/studies/{study.study_instance_uid}/series/{row.series_instance_uid}"
        f"/instances/{row.sop_instance_uid}/frames/{row.frame}/rendered"
    )
    try:
        streamed = dicomweb.stream(path, accept="image/jpeg", params={"viewport": VIEWPORT})
        data = b"".join(streamed.chunks())
        with Image.open(io.BytesIO(data)) as image:
            image.verify()
    except NotFound:
        row.error = "The image is not in this study's images (instance or frame not found)."
        return f"failed: {row.error}"
    except (UnidentifiedImageError, OSError) as exc:
        row.error = f"The rendered image could not be read: {exc}"[:300]
        return f"failed: {row.error}"
    key = image_key(row, study.id)
    object_store(settings).put(key, data, "image/jpeg")
    row.object_key, row.captured_at, row.error = key, utc_now(), ""
    return "captured"
