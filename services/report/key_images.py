"""Key images: the reader picks up to four images for the report; the gateway renders each.

Services never talk to Orthanc, so choosing an image only records it and asks the gateway
(by task name) to render it into the object store; the PDF renderer then embeds what was
captured. Images are chosen on the draft and are part of what is printed, not of the signed
canonical text.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from services.auth.principal import Principal
from services.contracts.task_names import CAPTURE_KEY_IMAGE, QUEUE_DEFAULT
from services.kit.clock import utc_now
from services.kit.db import enqueue
from services.kit.errors import Conflict
from services.kit.settings import CoreSettings
from services.models import Report, ReportKeyImage, Series, Study
from services.report.document import KeyImage
from services.report.exceptions import ReportNotFound
from services.report.storage import object_store
from services.worklist import service as worklist_service

MAX_KEY_IMAGES = 4
CAPTURE_WAIT = timedelta(minutes=2)


class KeyImageNotInStudy(Conflict):
    """The chosen series is not part of the study being reported."""

    code = "key_image_not_in_study"


@dataclass(frozen=True)
class Choice:
    """One chosen image."""

    series_instance_uid: str
    sop_instance_uid: str
    frame: int
    caption: str


def _draft(session: Session, study: Study) -> Report:
    report = session.scalar(
        select(Report).where(Report.study_id == study.id).order_by(Report.version.desc()).limit(1)
    )
    if report is None or report.status != "DRAFT":
        raise ReportNotFound("Key images are chosen on a draft; write or start a draft first.")
    return report


def choose(
    session: Session, *, principal: Principal, study: Study, choices: list[Choice]
) -> list[ReportKeyImage]:
    """Replace the draft's key images (the caller must hold the claim) and queue captures."""
    worklist_service.require_claim(session, principal=principal, study_id=study.id)
    report = _draft(session, study)
    known = set(
        session.scalars(select(Series.series_instance_uid).where(Series.study_id == study.id))
    )
    for choice in choices:
        if choice.series_instance_uid not in known:
            raise KeyImageNotInStudy(
                f"Series {choice.series_instance_uid} is not part of this study; choose an "
                "image of the study being reported."
            )
    session.execute(delete(ReportKeyImage).where(ReportKeyImage.report_id == report.id))
    rows = []
    for position, choice in enumerate(choices, start=1):
        row = ReportKeyImage(
            tenant_id=report.tenant_id,
            report_id=report.id,
            position=position,
            series_instance_uid=choice.series_instance_uid,
            sop_instance_uid=choice.sop_instance_uid,
            frame=choice.frame,
            caption=choice.caption,
        )
        session.add(row)
        session.flush()
        enqueue(session, CAPTURE_KEY_IMAGE, queue=QUEUE_DEFAULT, key_image_id=str(row.id))
        rows.append(row)
    return rows


def of_report(session: Session, report_id: uuid.UUID) -> list[ReportKeyImage]:
    """Return a report version's key images in print order."""
    query = select(ReportKeyImage).where(ReportKeyImage.report_id == report_id)
    return list(session.scalars(query.order_by(ReportKeyImage.position)))


def image_key(row: ReportKeyImage, study_id: uuid.UUID) -> str:
    """Return the object key the gateway stores a captured key image under."""
    return f"{row.tenant_id}/reports/{study_id}/key-images/{row.id}.jpg"


class KeyImagesPending(OSError):
    """A chosen key image is still being rendered by the gateway: render the PDF a bit later."""


def printable(session: Session, settings: CoreSettings, report: Report) -> tuple[KeyImage, ...]:
    """Return the captured key images of ``report``, in print order.

    An image still being captured delays the PDF (``KeyImagesPending``, retried) for up to
    ``CAPTURE_WAIT``; after that, and for images whose capture failed, the PDF goes without.
    """
    rows = of_report(session, report.id)
    now = utc_now()
    waiting = [
        row
        for row in rows
        if row.object_key is None and not row.error and now - row.created_at < CAPTURE_WAIT
    ]
    if waiting:
        raise KeyImagesPending(f"{len(waiting)} key image(s) are still being rendered")
    store = object_store(settings)
    return tuple(KeyImage(store.get(row.object_key), row.caption) for row in rows if row.object_key)
