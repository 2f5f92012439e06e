"""Consortia for tests: a county hospital, two clinics, reading agreements, one login per role.

Every call makes a new tenant with unique slug and usernames, so tests sharing the session-wide
database never see each other's rows. Built only through ``services.tenant.service``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from services.domain.roles import Role
from services.kit.db import session_scope
from services.models import Organization
from services.tenant import service as tenant_service


@dataclass(frozen=True)
class Account:
    """A login made by the factory, with its clear-text password."""

    username: str
    password: str
    user_id: uuid.UUID
    organization_id: uuid.UUID | None
    role: Role


@dataclass(frozen=True)
class Organizations:
    """A tenant whose ``hospital`` reads for ``clinic_a`` and ``clinic_b``; no logins yet."""

    tenant_id: uuid.UUID
    slug: str
    hospital: Organization
    clinic_a: Organization
    clinic_b: Organization


@dataclass(frozen=True)
class Consortium(Organizations):
    """Organizations plus one login per role (password hashing makes this the slower one)."""

    clinic_staff: Account  # clinic A
    clinic_physician: Account  # clinic A
    clinic_b_staff: Account
    radiologist: Account
    senior_radiologist: Account
    consortium_admin: Account
    platform_admin: Account


def password_for(username: str) -> str:
    """Return the known password the factory gives ``username``."""
    return f"{username}-S3cret!"


def add_user(
    session: Session, *, slug: str, name: str, role: Role, organization: Organization | None
) -> Account:
    """Create one user holding ``role``; the username is prefixed with the tenant slug."""
    username = f"{slug}.{name}"
    password = password_for(username)
    user = tenant_service.create_user(
        session,
        username=username,
        password=password,
        display_name=f"Test {name}",
        roles=[role],
        organization=organization,
    )
    return Account(username, password, user.id, user.organization_id, role)


def _create_organizations(session: Session) -> Organizations:
    slug = f"t-{uuid.uuid4().hex[:12]}"
    tenant = tenant_service.create_tenant(session, slug=slug, name=f"Consortium {slug}")
    hospital = tenant_service.create_organization(
        session, tenant=tenant, code="county-hospital", name="County Hospital", kind="hospital"
    )
    clinics = [
        tenant_service.create_organization(
            session, tenant=tenant, code=code, name=f"Township {code}", kind="clinic"
        )
        for code in ("clinic-a", "clinic-b")
    ]
    for clinic in clinics:
        tenant_service.add_reading_agreement(session, reader=hospital, clinic=clinic)
    return Organizations(tenant.id, slug, hospital, clinics[0], clinics[1])


def build_organizations(factory: sessionmaker[Session]) -> Organizations:
    """Create and commit a fresh tenant with a hospital, two clinics and reading agreements."""
    with session_scope(factory) as session:
        return _create_organizations(session)


def build_consortium(factory: sessionmaker[Session]) -> Consortium:
    """Create and commit a fresh consortium with one login per role, all names unique."""
    with session_scope(factory) as session:
        orgs = _create_organizations(session)

        def user(name: str, role: Role, org: Organization | None) -> Account:
            return add_user(session, slug=orgs.slug, name=name, role=role, organization=org)

        return Consortium(
            **vars(orgs),
            clinic_staff=user("clinic.staff", Role.CLINIC_STAFF, orgs.clinic_a),
            clinic_physician=user("clinic.physician", Role.CLINIC_PHYSICIAN, orgs.clinic_a),
            clinic_b_staff=user("clinicb.staff", Role.CLINIC_STAFF, orgs.clinic_b),
            radiologist=user("radiologist", Role.RADIOLOGIST, orgs.hospital),
            senior_radiologist=user("senior.radiologist", Role.SENIOR_RADIOLOGIST, orgs.hospital),
            consortium_admin=user("consortium.admin", Role.CONSORTIUM_ADMIN, orgs.hospital),
            platform_admin=user("platform.admin", Role.PLATFORM_ADMIN, None),
        )


def add_radiologists(
    factory: sessionmaker[Session], orgs: Organizations, count: int
) -> list[Account]:
    """Create and commit ``count`` radiologists of the hospital of ``orgs``."""
    with session_scope(factory) as session:
        return [
            add_user(
                session,
                slug=orgs.slug,
                name=f"radiologist.{i}",
                role=Role.RADIOLOGIST,
                organization=orgs.hospital,
            )
            for i in range(count)
        ]
