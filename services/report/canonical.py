"""The bytes a report signature covers: its content in one canonical JSON form."""

from __future__ import annotations

import json

from services.models import Report, Study


def canonical_content(report: Report, study: Study) -> bytes:
    """Return the bytes a signature covers: the report's content in a canonical JSON form."""
    content = {
        "report_id": str(report.id),
        "version": report.version,
        "study_instance_uid": study.study_instance_uid,
        "author_id": str(report.author_id),
        "language": report.language,
        "findings": report.findings,
        "impression": report.impression,
        "signed_at": report.signed_at.isoformat() if report.signed_at else None,
    }
    return json.dumps(content, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()
