"""Channel secrets (webhook HMAC keys, FHIR bearer tokens) sealed at rest.

Each secret is encrypted with Fernet (AES-128-CBC + HMAC-SHA256) under a key derived from the
platform secret and the channel's id, so a database dump alone does not hand out the keys a
clinic's systems trust. Values stored before sealing existed (no prefix) still read as they are.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid

from cryptography.fernet import Fernet, InvalidToken

from services.kit.settings import CoreSettings

PREFIX = "fernet1:"


class SecretUnreadable(Exception):
    """A sealed secret that the current platform secret cannot open (was it rotated?)."""


def _fernet(settings: CoreSettings, channel_id: uuid.UUID) -> Fernet:
    master = settings.auth.signing_key.get_secret_value().encode()
    key = hmac.new(master, f"delivery-channel-secret:{channel_id}".encode(), hashlib.sha256)
    return Fernet(base64.urlsafe_b64encode(key.digest()))


def seal(settings: CoreSettings, channel_id: uuid.UUID, plaintext: str) -> str:
    """Return the value to store for ``plaintext``."""
    token = _fernet(settings, channel_id).encrypt(plaintext.encode("utf-8"))
    return PREFIX + token.decode("ascii")


def unseal(settings: CoreSettings, channel_id: uuid.UUID, stored: str | None) -> str | None:
    """Return the plaintext of a stored secret (None stays None)."""
    if stored is None or not stored.startswith(PREFIX):
        return stored
    try:
        return _fernet(settings, channel_id).decrypt(stored[len(PREFIX) :]).decode("utf-8")
    except InvalidToken as exc:
        raise SecretUnreadable(
            "This channel's secret cannot be decrypted with the current platform secret; "
            "re-enter it by recreating the channel."
        ) from exc
