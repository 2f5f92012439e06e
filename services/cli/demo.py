"""Seeding and printing the demo consortium."""

from __future__ import annotations

import typer

from services.kit.db import session_scope
from services.kit.settings import CoreSettings
from services.tenant.seed import CLINICS, seed_demo


def seed_and_report(settings: CoreSettings) -> None:
    """Seed the demo consortium once and print (and keep) its logins."""
    accounts_file = settings.state_dir / "demo-accounts.txt"
    with session_scope() as session:
        accounts = seed_demo(session)
    if accounts is None:
        typer.echo(f"demo consortium already exists; logins are in {accounts_file}")
        return
    lines = [f"{a.role:<20} {a.username:<20} {a.password:<16} {a.organization}" for a in accounts]
    header = f"{'role':<20} {'username':<20} {'password':<16} organization"
    text = "\n".join([header, *lines]) + "\n"
    accounts_file.parent.mkdir(parents=True, exist_ok=True)
    accounts_file.write_text(text, encoding="utf-8")
    accounts_file.chmod(0o600)
    typer.echo("demo consortium created. Logins (also in " + str(accounts_file) + "):")
    typer.echo(text)
    for clinic in CLINICS:
        typer.echo(f"clinic {clinic.code} sends with calling AE title {clinic.ae_title}")
