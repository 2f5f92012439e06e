"""FHIR R4 REST: POST the DiagnosticReport to ``{base}/DiagnosticReport``."""

from __future__ import annotations

import json

from services.delivery.channels import http_post
from services.delivery.channels.base import Job, Outcome
from services.report.interop.fhir_report import build_diagnostic_report


def send(job: Job) -> Outcome:
    """Create the DiagnosticReport at the clinic's FHIR server."""
    url = str(job.config["base_url"]).rstrip("/") + "/DiagnosticReport"
    body = json.dumps(build_diagnostic_report(job.export), ensure_ascii=False).encode("utf-8")
    headers = {
        "Content-Type": "application/fhir+json; charset=utf-8",
        "Accept": "application/fhir+json",
    }
    if job.secret:
        headers["Authorization"] = f"Bearer {job.secret}"
    return http_post.post(url, body, headers, job.settings)
