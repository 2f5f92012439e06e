"""Password and client-secret hashing (bcrypt)."""

from __future__ import annotations

import hashlib

import bcrypt


def _prehash(secret: str) -> bytes:
    # bcrypt reads only 72 bytes; pre-hashing keeps long passphrases fully significant.
    return hashlib.sha256(secret.encode("utf-8")).hexdigest().encode("ascii")


def hash_secret(secret: str) -> str:
    """Return a bcrypt hash of ``secret`` for storage."""
    return bcrypt.hashpw(_prehash(secret), bcrypt.gensalt(rounds=10)).decode("ascii")


def verify_secret(secret: str, hashed: str) -> bool:
    """Return whether ``secret`` matches the stored hash."""
    try:
        return bcrypt.checkpw(_prehash(secret), hashed.encode("ascii"))
    except ValueError:
        return False
