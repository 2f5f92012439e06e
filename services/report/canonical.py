"""The bytes a report signature covers: its content in one canonical JSON form."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from services.models import Report, Study


def _dumps(content: dict[str, Any]) -> bytes:
    return json.dumps(content, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def canonical_content(report: Report, study: Study) -> bytes:
    """Return the bytes a signature covers: the report's content in a canonical JSON form.

    Structured values, the template, and a later version's kind, reason and predecessor are
    covered when present; a plain first version keeps the exact form it was first signed in.
    """
    content: dict[str, Any] = {
        "report_id": str(report.id),
        "version": report.version,
        "study_instance_uid": study.study_instance_uid,
        "author_id": str(report.author_id),
        "language": report.language,
        "findings": report.findings,
        "impression": report.impression,
        "signed_at": report.signed_at.isoformat() if report.signed_at else None,
    }
    if report.template_id is not None:
        content["template_id"] = str(report.template_id)
        content["structured"] = report.structured
    if report.kind and report.kind != "original":
        content["kind"] = report.kind
        content["reason"] = report.reason
        content["previous_id"] = str(report.previous_id) if report.previous_id else None
    if report.emergency_reason:
        content["emergency_reason"] = report.emergency_reason
    return _dumps(content)


def countersigned_content(report: Report, study: Study) -> bytes:
    """Return the bytes the senior's countersignature covers.

    The author's content, the author's signature itself, and who countersigned when: the
    senior attests to exactly what the author signed.
    """
    signature = report.content_signature or b""
    content = {
        "author_content_sha256": hashlib.sha256(canonical_content(report, study)).hexdigest(),
        "author_signature_sha256": hashlib.sha256(signature).hexdigest(),
        "cosigner_id": str(report.cosigner_id),
        "cosigned_at": report.cosigned_at.isoformat() if report.cosigned_at else None,
    }
    return _dumps(content)
