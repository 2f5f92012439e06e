"""Consortia for tests: a county hospital, two clinics, reading agreements, one login per role.

Every call makes a new tenant with unique slug and usernames, so tests sharing the session-wide
database never see each other's rows. Built only through ``services.tenant.service``. Logins are
created on first use: each costs a bcrypt hash (~70 ms), and most tests need two or three.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

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
    """A tenant whose ``hospital`` reads for ``clinic_a`` and ``clinic_b``; no logins."""

    tenant_id: uuid.UUID
    slug: str
    hospital: Organization
    clinic_a: Organization
    clinic_b: Organization


# login name -> (role, the Organizations field naming its organization; None: platform-wide)
LOGINS: dict[str, tuple[Role, str | None]] = {
    "clinic_staff": (Role.CLINIC_STAFF, "clinic_a"),
    "clinic_physician": (Role.CLINIC_PHYSICIAN, "clinic_a"),
    "clinic_b_staff": (Role.CLINIC_STAFF, "clinic_b"),
    "radiologist": (Role.RADIOLOGIST, "hospital"),
    "senior_radiologist": (Role.SENIOR_RADIOLOGIST, "hospital"),
    "consortium_admin": (Role.CONSORTIUM_ADMIN, "hospital"),
    "platform_admin": (Role.PLATFORM_ADMIN, None),
}


@dataclass(frozen=True)
class Consortium(Organizations):
    """Organizations plus one login per role of ``LOGINS``, each made when first read."""

    factory: sessionmaker[Session] = field(repr=False, compare=False, kw_only=True)
    _accounts: dict[str, Account] = field(
        default_factory=dict, repr=False, compare=False, kw_only=True
    )

    def account(self, name: str) -> Account:
        """Return the login ``name`` of ``LOGINS``, creating and committing it on first use."""
        if name not in self._accounts:
            role, org_field = LOGINS[name]
            org: Organization | None = getattr(self, org_field) if org_field else None
            with session_scope(self.factory) as session:
                self._accounts[name] = add_user(
                    session, slug=self.slug, name=name, role=role, organization=org
                )
        return self._accounts[name]

    @property
    def clinic_staff(self) -> Account:
        """Clinic staff of clinic A."""
        return self.account("clinic_staff")

    @property
    def clinic_physician(self) -> Account:
        """A physician of clinic A."""
        return self.account("clinic_physician")

    @property
    def clinic_b_staff(self) -> Account:
        """Clinic staff of clinic B."""
        return self.account("clinic_b_staff")

    @property
    def radiologist(self) -> Account:
        """A radiologist of the county hospital."""
        return self.account("radiologist")

    @property
    def senior_radiologist(self) -> Account:
        """A senior radiologist of the county hospital."""
        return self.account("senior_radiologist")

    @property
    def consortium_admin(self) -> Account:
        """The consortium's administrator (sees every organization of the tenant)."""
        return self.account("consortium_admin")

    @property
    def platform_admin(self) -> Account:
        """A platform operator: no tenant, no patient data."""
        return self.account("platform_admin")


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
    """Create and commit a fresh consortium; its logins are made as tests first use them."""
    orgs = build_organizations(factory)
    return Consortium(**vars(orgs), factory=factory)


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
