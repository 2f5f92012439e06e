"""Where report PDFs live in the object store: tenant-prefixed keys from server-made ids."""

from __future__ import annotations

import hashlib

from services.kit.settings import CoreSettings
from services.kit.storage import ObjectIntegrityError, ObjectStore, build_object_store
from services.models import Report

_STORES: dict[str, ObjectStore] = {}


def object_store(settings: CoreSettings) -> ObjectStore:
    """Return the configured object store (built once per process and configuration)."""
    secret = settings.storage.s3_secret_access_key
    fingerprint = hashlib.sha256(secret.get_secret_value().encode() if secret else b"").hexdigest()
    key = repr((settings.storage.model_dump(), settings.storage_root, fingerprint))
    if key not in _STORES:
        _STORES[key] = build_object_store(settings.storage, settings.storage_root)
    return _STORES[key]


def pdf_key(report: Report) -> str:
    """Return the object key of a report version's PDF."""
    return f"{report.tenant_id}/reports/{report.study_id}/{report.id}-v{report.version}.pdf"


def load_pdf(settings: CoreSettings, report: Report) -> bytes:
    """Return the stored PDF, refusing one whose checksum no longer matches the record."""
    assert report.pdf_key is not None
    data = object_store(settings).get(report.pdf_key)
    if report.pdf_sha256 and hashlib.sha256(data).hexdigest() != report.pdf_sha256:
        raise ObjectIntegrityError(f"stored PDF {report.pdf_key} does not match its checksum")
    return data
