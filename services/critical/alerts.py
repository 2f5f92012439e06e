"""Tell the sending clinic about a critical result: in the portal, and over its own channels.

The portal notice is written in the caller's transaction; alerts over every configured channel
that can carry one (webhook, email, HL7 v2 over MLLP, FHIR REST) are rows (``CriticalAlert``)
sent by a worker after commit, each attempt recorded with the peer's acknowledgement. Messages
carry ids, the critical-value code and its label, never the patient's name. The HL7 and FHIR
shapes are in ``alert_messages``.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.audit import service as audit
from services.contracts.task_names import QUEUE_DELIVERY, SEND_CRITICAL_ALERT
from services.critical import alert_messages
from services.critical.alert_messages import AlertFacts
from services.delivery import guard, secrets
from services.delivery.channels import http_post, mail, mllp, webhook
from services.delivery.channels.base import Outcome
from services.delivery.settings import DeliverySettings
from services.kit.clock import utc_now
from services.kit.db import enqueue
from services.kit.settings import CoreSettings
from services.models import (
    CriticalAlert,
    CriticalResult,
    DeliveryChannel,
    Notification,
    Organization,
    Report,
    Study,
)
from services.report.interop import hl7_charset

# Every channel kind that can carry a short alert (a DICOM PACS cannot; the portal always has it).
ALERT_KINDS = ("webhook", "email", "hl7_mllp", "fhir")
SENT, RETRYING, FAILED = "SENT", "RETRYING", "FAILED"
SYSTEM = "system:critical-alerts"


def _describe(result: CriticalResult, study: Study | None) -> str:
    reference = (study.accession_number or study.study_instance_uid) if study else ""
    labels = f"{result.label_zh} / {result.label_en}"
    return f"危急值 Critical result {result.code} ({labels}) on {reference}"


def notify_clinic(
    session: Session, result: CriticalResult, *, level: int, now: datetime | None = None
) -> list[CriticalAlert]:
    """Write the portal notice and queue one alert per alert-capable channel of the clinic."""
    now = now or utc_now()
    if result.notified_at is None:
        result.notified_at = now
    result.last_notified_at, result.escalation_level = now, level
    study = session.get(Study, result.study_id)
    prefix = "" if level == 0 else f"[reminder {level}] "
    session.add(
        Notification(
            tenant_id=result.tenant_id,
            recipient_org_id=result.clinic_org_id,
            kind="critical_result",
            study_id=result.study_id,
            message=(prefix + _describe(result, study) + ". Please acknowledge.")[:300],
        )
    )
    channels = session.scalars(
        select(DeliveryChannel).where(
            DeliveryChannel.tenant_id == result.tenant_id,
            DeliveryChannel.organization_id == result.clinic_org_id,
            DeliveryChannel.active.is_(True),
            DeliveryChannel.kind.in_(ALERT_KINDS),
        )
    )
    queued = []
    for channel in channels:
        alert = CriticalAlert(
            tenant_id=result.tenant_id,
            critical_result_id=result.id,
            channel_id=channel.id,
            level=level,
        )
        session.add(alert)
        session.flush()
        enqueue(session, SEND_CRITICAL_ALERT, queue=QUEUE_DELIVERY, alert_id=str(alert.id))
        queued.append(alert)
    audit.record(
        session,
        actor=SYSTEM,
        action="critical.clinic_notified",
        object_type="critical_result",
        object_id=result.id,
        tenant_id=result.tenant_id,
        study_id=result.study_id,
        detail={"level": level, "code": result.code, "alerts": len(queued)},
    )
    return queued


@dataclass(frozen=True)
class AlertJob:
    """Everything one send needs, read inside a transaction and used outside it."""

    alert_id: uuid.UUID
    kind: str
    config: dict[str, Any]
    secret: str | None
    payload: dict[str, Any]
    subject: str
    facts: AlertFacts


def claim(session: Session, core: CoreSettings, alert_id: uuid.UUID) -> AlertJob | None:
    """Return the job for an alert still to send, counting the attempt; None if settled."""
    alert = session.get(CriticalAlert, alert_id, with_for_update=True)
    if alert is None or alert.status in (SENT, FAILED):
        return None
    result = session.get(CriticalResult, alert.critical_result_id)
    channel = session.get(DeliveryChannel, alert.channel_id)
    assert result is not None
    assert channel is not None
    if result.status != "OPEN" or not channel.active:
        alert.status, alert.last_error = FAILED, "Not sent: acknowledged or channel removed."
        return None
    try:
        secret = secrets.unseal(core, channel.id, channel.secret)
    except secrets.SecretUnreadable as exc:
        alert.status, alert.last_error = FAILED, str(exc)[:500]
        return None
    alert.attempts += 1
    study = session.get(Study, result.study_id)
    payload = {
        "event": "critical_result.notified",
        "critical_result_id": str(result.id),
        "alert_id": str(alert.id),
        "level": alert.level,
        "study_id": str(result.study_id),
        "study_instance_uid": study.study_instance_uid if study else "",
        "accession_number": study.accession_number if study else "",
        "code": result.code,
        "label_zh": result.label_zh,
        "label_en": result.label_en,
        "declared_at": result.declared_at.isoformat(),
        "acknowledge": f"/api/v1/critical-results/{result.id}/acknowledge",
        "sent_at": utc_now().isoformat(),
    }
    subject = _describe(result, study)
    return AlertJob(
        alert.id,
        channel.kind,
        dict(channel.config),
        secret,
        payload,
        subject,
        _facts(
            session,
            alert,
            result,
            study,
            f"{subject}. Please acknowledge: {payload['acknowledge']}",
        ),
    )


def _code(session: Session, org_id: uuid.UUID | None) -> str:
    org = session.get(Organization, org_id) if org_id else None
    return org.code if org else ""


def _facts(
    session: Session, alert: CriticalAlert, result: CriticalResult, study: Study | None, text: str
) -> AlertFacts:
    report = session.get(Report, result.report_id) if result.report_id else None
    return AlertFacts(
        alert_id=str(alert.id),
        critical_result_id=str(result.id),
        attempt=alert.attempts,
        level=alert.level,
        code=result.code,
        label_zh=result.label_zh,
        label_en=result.label_en,
        declared_at=result.declared_at,
        report_id=str(report.id) if report else None,
        report_status=report.status if report and report.signed_at else None,
        study_instance_uid=study.study_instance_uid if study else "",
        accession_number=study.accession_number if study else "",
        modality=study.modality if study else "",
        study_description=study.description if study else "",
        patient_id=study.patient_id if study else "",
        patient_id_issuer=study.patient_id_issuer if study else "",
        hospital_code=_code(session, result.reader_org_id),
        clinic_code=_code(session, result.clinic_org_id),
        text=text,
    )


def _email(job: AlertJob, settings: DeliverySettings) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = settings.smtp_from
    msg["To"] = ", ".join(job.config["to"])
    msg["Subject"] = job.subject
    msg["X-RadBridge-Critical-Result"] = job.payload["critical_result_id"]
    msg.set_content(
        f"{job.subject}.\n请立即查看报告并在平台确认收到。\n"
        "Please read the report now and acknowledge receipt in RadBridge:\n"
        f"POST {job.payload['acknowledge']}\n"
    )
    return msg


def _hl7(job: AlertJob, settings: DeliverySettings) -> Outcome:
    charset = hl7_charset.of_config(job.config)
    message = alert_messages.build_critical_oru(job.facts, now=utc_now(), charset=charset)
    return mllp.exchange(job.config, message, alert_messages.control_id(job.facts), settings)


def _fhir(job: AlertJob, settings: DeliverySettings) -> Outcome:
    url = str(job.config["base_url"]).rstrip("/") + "/Communication"
    resource = alert_messages.build_communication(job.facts, now=utc_now())
    headers = {
        "Content-Type": "application/fhir+json; charset=utf-8",
        "Accept": "application/fhir+json",
    }
    if job.secret:
        headers["Authorization"] = f"Bearer {job.secret}"
    body = json.dumps(resource, ensure_ascii=False).encode("utf-8")
    return http_post.post(url, body, headers, settings)


def send(job: AlertJob, settings: DeliverySettings) -> Outcome:
    """Send one alert; every error becomes an outcome."""
    try:
        if job.kind == "hl7_mllp":
            return _hl7(job, settings)
        if job.kind == "fhir":
            return _fhir(job, settings)
        if job.kind == "webhook":
            if not job.secret:
                return Outcome.failed("This webhook channel has no signing secret; recreate it.")
            body = json.dumps(job.payload, separators=(",", ":")).encode("utf-8")
            headers = {
                "Content-Type": "application/json",
                webhook.SIGNATURE_HEADER: webhook.signature(job.secret, body),
            }
            return http_post.post(str(job.config["url"]), body, headers, settings)
        return mail.relay(settings, _email(job, settings), list(job.config["to"]))
    except guard.UnsafeDestination as exc:
        return Outcome.failed(exc.message)


def record(session: Session, alert_id: uuid.UUID, outcome: Outcome, *, max_attempts: int) -> str:
    """Store what came of an attempt and return the alert's new status."""
    alert = session.get(CriticalAlert, alert_id, with_for_update=True)
    assert alert is not None
    if outcome.result == "delivered":
        alert.status, alert.sent_at, alert.ack_id, alert.last_error = (
            SENT,
            utc_now(),
            outcome.ack_id,
            "",
        )
    elif outcome.result == "retry" and alert.attempts < max_attempts:
        alert.status, alert.last_error = RETRYING, outcome.error[:500]
    else:
        alert.status, alert.last_error = FAILED, outcome.error[:500]
    audit.record(
        session,
        actor=SYSTEM,
        action="critical.alert_attempt",
        object_type="critical_alert",
        object_id=alert.id,
        tenant_id=alert.tenant_id,
        outcome="success" if alert.status == SENT else "failure",
        detail={"status": alert.status, "attempt": alert.attempts, "error": alert.last_error},
    )
    return alert.status
