"""Roles people and machines hold, and what each may do."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """A role within one tenant (platform_admin is the only cross-tenant one)."""

    CLINIC_STAFF = "clinic_staff"
    CLINIC_PHYSICIAN = "clinic_physician"
    RADIOLOGIST = "radiologist"
    SENIOR_RADIOLOGIST = "senior_radiologist"
    CONSORTIUM_ADMIN = "consortium_admin"
    PLATFORM_ADMIN = "platform_admin"
    INGEST_AGENT = "ingest_agent"  # machine clients (edge uploaders, modality bridges)


CLINIC_ROLES = frozenset({Role.CLINIC_STAFF, Role.CLINIC_PHYSICIAN, Role.INGEST_AGENT})
READER_ROLES = frozenset({Role.RADIOLOGIST, Role.SENIOR_RADIOLOGIST})
# Everyone who may see patient data of some studies; platform_admin runs operations only.
CLINICAL_ROLES = CLINIC_ROLES | READER_ROLES | {Role.CONSORTIUM_ADMIN}
UPLOAD_ROLES = frozenset({Role.CLINIC_STAFF, Role.CLINIC_PHYSICIAN, Role.INGEST_AGENT})
ADMIN_ROLES = frozenset({Role.CONSORTIUM_ADMIN})
