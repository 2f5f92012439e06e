"""The demo consortium `radbridge up` loads: one county hospital, two township clinics."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.domain.roles import Role
from services.models import Organization, Tenant
from services.tenant import service

DEMO_TENANT = "demo-county"


@dataclass(frozen=True)
class DemoAccount:
    """A seeded login, printed once for the person trying RadBridge out."""

    username: str
    password: str
    role: str
    organization: str


@dataclass(frozen=True)
class DemoClinic:
    """A seeded clinic and the AE title its modality calls with."""

    code: str
    name: str
    ae_title: str


CLINICS = (
    DemoClinic("clinic-a", "Qingshan Township Health Center / 青山镇卫生院", "QINGSHAN_DR"),
    DemoClinic("clinic-b", "Hexi Township Health Center / 河西乡卫生院", "HEXI_CT"),
)


def _password() -> str:
    return secrets.token_urlsafe(9)


def seed_demo(session: Session, *, modality_host: str = "127.0.0.1") -> list[DemoAccount] | None:
    """Create the demo consortium once; return its accounts, or None if it already exists."""
    if session.scalar(select(Tenant).where(Tenant.slug == DEMO_TENANT)) is not None:
        return None
    tenant = service.create_tenant(session, slug=DEMO_TENANT, name="Demo County Medical Consortium")
    hospital = service.create_organization(
        session,
        tenant=tenant,
        code="county-hospital",
        name="Demo County People's Hospital / 示范县人民医院",
        kind="hospital",
    )
    clinics: list[Organization] = []
    for i, c in enumerate(CLINICS):
        org = service.create_organization(
            session, tenant=tenant, code=c.code, name=c.name, kind="clinic"
        )
        service.register_dicom_node(
            session, organization=org, ae_title=c.ae_title, host=modality_host, port=11112 + i
        )
        service.add_reading_agreement(session, reader=hospital, clinic=org)
        clinics.append(org)
    plan: list[tuple[str, Role, Organization | None, str]] = [
        ("clinic.staff", Role.CLINIC_STAFF, clinics[0], "Li Na / 李娜"),
        ("clinic.physician", Role.CLINIC_PHYSICIAN, clinics[0], "Zhang Wei / 张伟"),
        ("clinicb.staff", Role.CLINIC_STAFF, clinics[1], "Wang Fang / 王芳"),
        ("radiologist", Role.RADIOLOGIST, hospital, "Dr. Chen Jing / 陈静"),
        ("senior.radiologist", Role.SENIOR_RADIOLOGIST, hospital, "Dr. Liu Yang / 刘洋"),
        ("consortium.admin", Role.CONSORTIUM_ADMIN, hospital, "Zhao Min / 赵敏"),
        ("platform.admin", Role.PLATFORM_ADMIN, None, "Platform Operator"),
    ]
    accounts = []
    for username, role, member_of, name in plan:
        password = _password()
        service.create_user(
            session,
            username=username,
            password=password,
            display_name=name,
            roles=[role],
            organization=member_of,
        )
        accounts.append(
            DemoAccount(
                username, password, role.value, member_of.name if member_of else "(platform)"
            )
        )
    return accounts
