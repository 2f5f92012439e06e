"""Webhook: POST the report's ids and status as JSON, signed with the channel's HMAC key.

``X-RadBridge-Signature: sha256=<hex HMAC-SHA256 of the exact body>``; receivers compare it in
constant time. The body carries ids only, never patient names.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from services.delivery.channels import http_post
from services.delivery.channels.base import Job, Outcome
from services.kit.clock import utc_now

SIGNATURE_HEADER = "X-RadBridge-Signature"


def signature(secret: str, body: bytes) -> str:
    """Return the signature header value for ``body``."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def payload(job: Job) -> dict[str, Any]:
    """Return the JSON document a webhook receives."""
    export = job.export
    return {
        "event": "report.available",
        "delivery_id": str(job.delivery_id),
        "attempt": job.attempt,
        "study_id": str(job.study_id),
        "study_instance_uid": export.study_instance_uid,
        "accession_number": export.accession_number,
        "report_id": str(job.report_id),
        "report_version": export.version,
        "status": export.status.lower(),
        "signed_at": export.signed_at.isoformat() if export.signed_at else None,
        "pdf_sha256": job.pdf_sha256,
        "sent_at": utc_now().isoformat(),
    }


def send(job: Job) -> Outcome:
    """POST the signed notification to the channel's URL."""
    if not job.secret:
        return Outcome.failed("This webhook channel has no signing secret; recreate it.")
    body = json.dumps(payload(job), separators=(",", ":")).encode("utf-8")
    headers = {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: signature(job.secret, body),
        "X-RadBridge-Delivery": str(job.delivery_id),
    }
    return http_post.post(str(job.config["url"]), body, headers, job.settings)
