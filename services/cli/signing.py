"""``radbridge signing ...``: a consortium's signing setup from the command line (audited)."""

from __future__ import annotations

import uuid
from pathlib import Path

import typer
from sqlalchemy import select

from services.kit.db import session_scope
from services.kit.errors import AppError
from services.kit.settings import get_settings
from services.models import Tenant, User
from services.report.signing import admin

signing_app = typer.Typer(help="Report signing: CA and radiologists' keys.", no_args_is_help=True)
ACTOR = "cli:signing"


def _fail(exc: AppError) -> typer.Exit:
    typer.echo(f"refused ({exc.code}): {exc.message}", err=True)
    return typer.Exit(1)


def _tenant_id(slug: str) -> uuid.UUID:
    with session_scope() as session:
        tenant = session.scalar(select(Tenant).where(Tenant.slug == slug))
        if tenant is None:
            typer.echo(f"no consortium {slug}", err=True)
            raise typer.Exit(2)
        return tenant.id


def _user(username: str) -> tuple[uuid.UUID, uuid.UUID]:
    with session_scope() as session:
        user = session.scalar(select(User).where(User.username == username))
        if user is None or user.tenant_id is None:
            typer.echo(f"no radiologist {username}", err=True)
            raise typer.Exit(2)
        return user.tenant_id, user.id


@signing_app.command("import-ca")
def import_ca(consortium: str, certificate: Path) -> None:
    """Import the consortium CA certificate (PEM) as the trust root of its signatures."""
    tenant_id = _tenant_id(consortium)
    try:
        with session_scope() as session:
            row = admin.import_authority(
                session,
                actor=ACTOR,
                tenant_id=tenant_id,
                pem=certificate.read_bytes(),
            )
            typer.echo(f"CA imported for {consortium}: {row.id}")
    except AppError as exc:
        raise _fail(exc) from exc


@signing_app.command("import-key")
def import_key(
    username: str,
    bundle: Path = typer.Argument(help="PKCS#12 (.p12/.pfx) or PEM certificate"),
    key: Path | None = typer.Option(None, help="PEM private key (when BUNDLE is a PEM cert)"),
    password: str | None = typer.Option(None, envvar="RADBRIDGE_KEY_PASSWORD"),
) -> None:
    """Import a radiologist's certificate and private key; it becomes their signing identity."""
    tenant_id, user_id = _user(username)
    data = bundle.read_bytes()
    pem = b"-----BEGIN" in data
    try:
        with session_scope() as session:
            info = admin.import_identity(
                session,
                get_settings(),
                actor=ACTOR,
                tenant_id=tenant_id,
                user_id=user_id,
                pkcs12=None if pem else data,
                certificate_pem=data if pem else None,
                key_pem=key.read_bytes() if key else None,
                password=password,
            )
            typer.echo(f"identity imported for {username}: {info.subject} {info.fingerprint}")
    except AppError as exc:
        raise _fail(exc) from exc


@signing_app.command("register-remote")
def register_remote(username: str, credential_id: str) -> None:
    """Bind a radiologist to a credential of the CA's remote signing service (CSC API v2)."""
    tenant_id, user_id = _user(username)
    try:
        with session_scope() as session:
            info = admin.register_remote(
                session,
                get_settings(),
                actor=ACTOR,
                tenant_id=tenant_id,
                user_id=user_id,
                credential_id=credential_id,
            )
            typer.echo(f"remote credential registered for {username}: {info.subject}")
    except AppError as exc:
        raise _fail(exc) from exc


@signing_app.command("mode")
def set_mode(consortium: str, mode: str = typer.Argument(help="local | remote")) -> None:
    """Choose keys held by RadBridge (local) or the CA's remote signing service."""
    if mode not in ("local", "remote"):
        typer.echo("mode must be local or remote", err=True)
        raise typer.Exit(2)
    tenant_id = _tenant_id(consortium)
    with session_scope() as session:
        admin.set_mode(session, actor=ACTOR, tenant_id=tenant_id, mode=mode)
    typer.echo(f"{consortium} signing mode: {mode}")
