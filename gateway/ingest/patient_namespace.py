"""Patient identity as Orthanc sees it: the clinic's PatientID behind a per-organization prefix.

Orthanc 1.10 identifies a patient by PatientID alone, so two clinics' different people with the
same PatientID became one Orthanc patient, and deleting it deleted both clinics' studies. The
gateway therefore rewrites PatientID before anything reaches Orthanc::

    <token>~<original PatientID>        e.g.  "3f9a0c1d72be~0001234"

``token`` is 12 hex digits of SHA-256 over the organization's id, so it is stable, carries no
readable clinic name, and two organizations never share one (48 bits). The prefix is always
added, even to a value that already looks namespaced, so a device cannot forge another clinic's
identity by sending its token. The original PatientID is kept in our database and API; only
Orthanc (and viewers reading through it) see the namespaced value. IssuerOfPatientID is set to
the organization's issuer when the device leaves it empty.
"""

from __future__ import annotations

import hashlib
import re
import uuid

SEPARATOR = "~"
TOKEN_LENGTH = 12
# PatientID is LO (64 characters): 51 remain for the clinic's own value, plenty in practice.
_NAMESPACED = re.compile(rf"^([0-9a-f]{{{TOKEN_LENGTH}}}){re.escape(SEPARATOR)}(.*)$", re.DOTALL)


def namespace_token(organization_id: uuid.UUID) -> str:
    """Return the organization's namespace token (stable, 12 lower-case hex digits)."""
    digest = hashlib.sha256(b"radbridge-patient-namespace|" + organization_id.bytes)
    return digest.hexdigest()[:TOKEN_LENGTH]


def prefix(organization_id: uuid.UUID) -> bytes:
    """Return the bytes put in front of a PatientID of this organization.

    The prefix is ASCII, so it is valid in every character set DICOM allows, ISO 2022 escapes
    included (they start in ASCII), and the device's own bytes follow it unchanged.
    """
    return f"{namespace_token(organization_id)}{SEPARATOR}".encode("ascii")


def split(stored: str) -> tuple[str, str] | None:
    """Return (token, original PatientID) of a namespaced value, or None for a bare one."""
    match = _NAMESPACED.match(stored)
    return (match.group(1), match.group(2)) if match else None


def original_patient_id(stored: str, organization_id: uuid.UUID) -> str | None:
    """Return the clinic's own PatientID, or None if ``stored`` carries another namespace.

    A bare value (no prefix: a study that reached Orthanc without passing the gateway) is
    returned as it is; the caller decides whether that path is allowed.
    """
    parts = split(stored)
    if parts is None:
        return stored
    token, original = parts
    return original if token == namespace_token(organization_id) else None
