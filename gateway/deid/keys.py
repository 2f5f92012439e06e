"""Keyed pseudonyms: the same input gives the same output within a consortium, never across.

Everything is an HMAC-SHA256 under the consortium's key, which is itself derived from the
platform's de-identification secret and the tenant id. Without the secret nobody can link a
pseudonym back to a patient or join two consortia's exports; with it, a re-export of the same
patient lands on the same pseudonym, UIDs and date offset.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from dataclasses import dataclass, field

_DOMAIN = b"radbridge-deid-v1"
_SEP = "\x1f"  # unit separator: cannot occur in DICOM text values joined here
MIN_SHIFT_DAYS = 180
MAX_SHIFT_DAYS = 3650
UID_ROOT = "2.25."  # UUID-derived UIDs (PS3.5 B.2): no registered root needed


def consortium_key(master_secret: bytes, tenant_id: uuid.UUID) -> ConsortiumKey:
    """Derive the key of one consortium from the platform secret."""
    if len(master_secret) < 16:
        raise ValueError("the de-identification secret must be at least 16 bytes long")
    derived = hmac.new(master_secret, _DOMAIN + b"|tenant|" + tenant_id.bytes, hashlib.sha256)
    return ConsortiumKey(derived.digest())


@dataclass(frozen=True)
class PatientRef:
    """Who a dataset belongs to: Patient ID within its issuer (clinics may reuse numbers)."""

    issuer: str
    patient_id: str


@dataclass(frozen=True)
class ConsortiumKey:
    """The secret of one consortium and the keyed mappings built on it."""

    secret: bytes = field(repr=False)

    def _mac(self, purpose: str, *parts: str) -> bytes:
        message = _SEP.join((purpose, *parts)).encode("utf-8")
        return hmac.new(self.secret, message, hashlib.sha256).digest()

    def token(self, purpose: str, *parts: str, prefix: str, length: int = 16) -> str:
        """Return ``prefix`` + upper-case base32 of the MAC, ``length`` characters in all."""
        body = base64.b32encode(self._mac(purpose, *parts)).decode("ascii").rstrip("=")
        return (prefix + body)[:length]

    def patient_pseudonym(self, patient: PatientRef) -> str:
        """Return the patient's pseudonym (fits PatientID, PatientName and SH fields)."""
        return self.token("patient", patient.issuer, patient.patient_id, prefix="RB")

    def accession_pseudonym(self, patient: PatientRef, accession: str) -> str:
        """Return a pseudonym for an accession number (SH, 16 characters)."""
        return self.token("accession", patient.issuer, accession, prefix="A")

    def uid(self, original: str) -> str:
        """Return the replacement of a UID: ``2.25.<128-bit keyed integer>`` (at most 44 chars)."""
        number = int.from_bytes(self._mac("uid", original.strip())[:16], "big")
        return f"{UID_ROOT}{number}"

    def date_shift_days(self, patient: PatientRef) -> int:
        """Return how many days this patient's dates move back (same for all their studies)."""
        number = int.from_bytes(self._mac("date-shift", patient.issuer, patient.patient_id)[:8])
        return MIN_SHIFT_DAYS + number % (MAX_SHIFT_DAYS - MIN_SHIFT_DAYS + 1)
