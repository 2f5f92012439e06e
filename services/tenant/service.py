"""Tenants, organizations, DICOM nodes, users and reading agreements."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.auth.passwords import hash_secret
from services.domain.roles import Role
from services.kit.errors import Conflict, InvalidInput
from services.models import (
    ApiClient,
    DicomNode,
    Organization,
    ReadingAgreement,
    Tenant,
    User,
    UserRole,
)


def create_tenant(session: Session, *, slug: str, name: str) -> Tenant:
    """Create a consortium."""
    tenant = Tenant(slug=slug, name=name, settings={})
    session.add(tenant)
    session.flush()
    return tenant


def create_organization(
    session: Session, *, tenant: Tenant, code: str, name: str, kind: str
) -> Organization:
    """Create a hospital or clinic; its code doubles as the Issuer of Patient ID."""
    if kind not in {"hospital", "clinic"}:
        raise InvalidInput(f"Organization kind must be 'hospital' or 'clinic', not {kind!r}.")
    org = Organization(
        tenant_id=tenant.id,
        code=code,
        name=name,
        kind=kind,
        patient_id_issuer=f"{tenant.slug}/{code}",
    )
    session.add(org)
    session.flush()
    return org


def register_dicom_node(
    session: Session, *, organization: Organization, ae_title: str, host: str, port: int
) -> DicomNode:
    """Register a modality's calling AE title for an organization."""
    ae = ae_title.strip()
    if not ae or len(ae) > 16 or not ae.isascii() or "\\" in ae:
        raise InvalidInput("An AE title has 1-16 ASCII characters and no backslash.")
    if session.scalar(select(DicomNode).where(DicomNode.ae_title == ae)) is not None:
        raise Conflict(f"The AE title {ae} is already registered; AE titles must be unique.")
    node = DicomNode(
        tenant_id=organization.tenant_id,
        organization_id=organization.id,
        ae_title=ae,
        host=host,
        port=port,
    )
    session.add(node)
    session.flush()
    return node


def list_dicom_nodes(session: Session) -> list[DicomNode]:
    """Return every enabled DICOM node (for syncing Orthanc's modality list)."""
    return list(session.scalars(select(DicomNode).where(DicomNode.enabled.is_(True))))


def find_node_by_ae_title(session: Session, ae_title: str) -> DicomNode | None:
    """Return the enabled node with this calling AE title, if any."""
    stmt = select(DicomNode).where(DicomNode.ae_title == ae_title, DicomNode.enabled.is_(True))
    return session.scalar(stmt)


def add_reading_agreement(
    session: Session, *, reader: Organization, clinic: Organization
) -> ReadingAgreement:
    """Let ``reader`` read ``clinic``'s studies; both must be of the same tenant."""
    if reader.tenant_id != clinic.tenant_id:
        raise InvalidInput("A reading agreement cannot cross consortia.")
    agreement = ReadingAgreement(
        tenant_id=reader.tenant_id, reader_org_id=reader.id, clinic_org_id=clinic.id
    )
    session.add(agreement)
    session.flush()
    return agreement


def reader_orgs_for_clinic(session: Session, *, clinic_org_id: uuid.UUID) -> list[uuid.UUID]:
    """Return the hospitals that read for a clinic."""
    stmt = select(ReadingAgreement.reader_org_id).where(
        ReadingAgreement.clinic_org_id == clinic_org_id, ReadingAgreement.active.is_(True)
    )
    return list(session.scalars(stmt))


def clinics_read_by(session: Session, *, reader_org_id: uuid.UUID) -> list[uuid.UUID]:
    """Return the clinics a hospital reads for."""
    stmt = select(ReadingAgreement.clinic_org_id).where(
        ReadingAgreement.reader_org_id == reader_org_id, ReadingAgreement.active.is_(True)
    )
    return list(session.scalars(stmt))


def create_user(
    session: Session,
    *,
    username: str,
    password: str,
    display_name: str,
    roles: Iterable[Role],
    organization: Organization | None,
) -> User:
    """Create a person with roles; platform admins have no organization."""
    user = User(
        tenant_id=organization.tenant_id if organization else None,
        organization_id=organization.id if organization else None,
        username=username,
        display_name=display_name,
        password_hash=hash_secret(password),
    )
    user.roles = [UserRole(role=Role(r).value) for r in roles]
    session.add(user)
    session.flush()
    return user


def create_api_client(
    session: Session, *, client_id: str, secret: str, organization: Organization, roles: list[Role]
) -> ApiClient:
    """Create a machine client for the client-credentials grant."""
    client = ApiClient(
        client_id=client_id,
        secret_hash=hash_secret(secret),
        tenant_id=organization.tenant_id,
        organization_id=organization.id,
        roles_csv=",".join(Role(r).value for r in roles),
    )
    session.add(client)
    session.flush()
    return client
