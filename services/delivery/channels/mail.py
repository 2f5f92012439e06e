"""Email through the platform's SMTP relay, with the signed PDF attached.

The subject and body carry ids only; the PDF (which names the patient) is the attachment the
clinic asked for. The relay's reply to DATA (often with a queue id) is the acknowledgement.
"""

from __future__ import annotations

import smtplib
from email.message import EmailMessage

from services.delivery.channels.base import Job, Outcome, network_error
from services.delivery.settings import DeliverySettings

TEMPORARY = range(400, 500)


def message(job: Job) -> EmailMessage:
    """Build the email for a report version."""
    export = job.export
    reference = export.accession_number or export.study_instance_uid
    msg = EmailMessage()
    msg["From"] = job.settings.smtp_from
    msg["To"] = ", ".join(job.config["to"])
    msg["Subject"] = f"Radiology report {reference} v{export.version} ({export.status.lower()})"
    msg["X-RadBridge-Delivery"] = str(job.delivery_id)
    msg.set_content(
        f"The signed radiology report for study {reference} from {export.hospital_name} "
        f"is attached.\n影像诊断报告已签发, 见附件。\n\nReport {export.report_id} "
        f"version {export.version}; PDF SHA-256 {job.pdf_sha256}.\n"
    )
    msg.add_attachment(
        job.pdf,
        maintype="application",
        subtype="pdf",
        filename=f"report-{export.report_id}-v{export.version}.pdf",
    )
    return msg


def send(job: Job) -> Outcome:
    """Hand the report's email to the relay."""
    return relay(job.settings, message(job), list(job.config["to"]))


def relay(settings: DeliverySettings, msg: EmailMessage, recipients: list[str]) -> Outcome:
    """Hand ``msg`` to the platform's SMTP relay and classify its answer."""
    host, port = settings.smtp_host, settings.smtp_port
    try:
        with smtplib.SMTP(host, port, timeout=settings.timeout_s) as smtp:
            if settings.smtp_starttls:
                smtp.starttls()
            if settings.smtp_username and settings.smtp_password:
                smtp.login(settings.smtp_username, settings.smtp_password.get_secret_value())
            smtp.ehlo_or_helo_if_needed()
            code, reply = smtp.mail(settings.smtp_from)
            if code != 250:
                raise smtplib.SMTPSenderRefused(code, reply, settings.smtp_from)
            for rcpt in recipients:
                code, reply = smtp.rcpt(rcpt)
                if code not in (250, 251):
                    raise smtplib.SMTPRecipientsRefused({rcpt: (code, reply)})
            code, reply = smtp.data(msg.as_bytes(policy=msg.policy.clone(linesep="\r\n")))
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [c for c, _ in exc.recipients.values()]
        error = f"The mail relay refused the recipients: {sorted(exc.recipients)}."
        return Outcome.retry(error) if all(c in TEMPORARY for c in codes) else Outcome.failed(error)
    except smtplib.SMTPResponseException as exc:
        reason = exc.smtp_error
        text = reason.decode(errors="replace") if isinstance(reason, bytes) else reason
        error = f"The mail relay answered {exc.smtp_code}: {text}"
        return Outcome.retry(error) if exc.smtp_code in TEMPORARY else Outcome.failed(error)
    except (OSError, smtplib.SMTPException) as exc:
        return network_error("mail relay", host, port, exc)
    if code != 250:
        text = reply.decode(errors="replace")
        error = f"The mail relay did not accept the message: {code} {text}"
        return Outcome.retry(error) if code in TEMPORARY else Outcome.failed(error)
    return Outcome.ok(f"SMTP {code} {reply.decode(errors='replace')}"[:200])
