"""Signing errors a person can act on: a rejected import, a refused or unreachable CA service."""

from __future__ import annotations

from services.kit.errors import AppError, Conflict, InvalidInput


class SigningImportRejected(InvalidInput):
    """An imported certificate or key that RadBridge will not sign or verify with."""

    code = "signing_import_invalid"


class SigningUnavailable(Conflict):
    """The radiologist has no way to sign yet (no identity, or a CA imported without its key)."""

    code = "signing_unavailable"


class RemoteSigningFailed(AppError):
    """The CA's remote signing service failed; nothing was signed and nothing changed."""

    status_code = 502
    code = "remote_signing_failed"
