"""``radbridge models ...``: register model versions from manifests, change their state, subscribe.

Errors say what to do next and exit non-zero: 2 for a bad manifest or argument, 1 otherwise.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from inference.models.repository import publish_shipped_models
from inference.registry import install
from inference.registry.check import CheckFailed
from inference.registry.repository import RepositoryConflict, open_repository
from inference.triton.http_client import HttpInferenceClient
from inference.triton.port import TritonUnavailable
from services.kit.db import session_scope
from services.kit.errors import AppError
from services.kit.settings import get_settings
from services.model_registry import service as registry
from services.study import reroute

app = typer.Typer(help="Model registry: manifests, Triton repository, states, subscriptions.")


def _fail(message: str, code: int = 1) -> typer.Exit:
    typer.echo(message, err=True)
    return typer.Exit(code)


def _default_repository() -> str:
    settings = get_settings()
    return str(settings.triton.model_repository or settings.state_dir / "triton" / "models")


@app.command("add")
def add(
    manifest: Annotated[Path, typer.Argument(help="manifest.yaml (or .toml) of one version")],
    repository: Annotated[
        str | None, typer.Option(help="model repository folder or s3://bucket/prefix")
    ] = None,
    triton_url: Annotated[str | None, typer.Option(help="Triton HTTP address")] = None,
    no_load: Annotated[bool, typer.Option("--no-load", help="validate and publish only")] = False,
    shadow: Annotated[bool, typer.Option("--shadow", help="run hidden from readers")] = False,
    timeout: Annotated[float, typer.Option(help="seconds to wait for the model")] = 60.0,
) -> None:
    """Validate a manifest, publish the model to Triton's repository, test it, enable it."""
    settings = get_settings()
    target = open_repository(repository or _default_repository(), settings.storage)
    url = triton_url or settings.triton.http_url
    client = None if no_load else HttpInferenceClient(url, timeout_s=timeout)
    try:
        outcome = install.add(
            manifest,
            target=target,
            client=client,
            http_url=url,
            state="shadow" if shadow else "enabled",
            timeout_s=timeout,
        )
    except AppError as error:  # bad manifest (exit 2), changed manifest...
        raise _fail(error.message, 2 if error.status_code == 422 else 1) from None
    except RepositoryConflict as error:
        raise _fail(str(error)) from None
    except CheckFailed as error:
        raise _fail(f"check failed, the version stays unrouted: {error}") from None
    except TritonUnavailable as error:
        raise _fail(f"{error}; start Triton (`radbridge triton`) or pass --no-load") from None
    finally:
        if client is not None:
            client.close()
    m = outcome.manifest
    typer.echo(
        f"{m.name} v{m.version}: published to {outcome.repository} "
        f"(serving versions {', '.join(outcome.served_versions)})"
    )
    if outcome.check is not None:
        typer.echo(
            f"check inference passed in {outcome.check.elapsed_ms} ms ({outcome.check.loaded_by})"
        )
    typer.echo(f"state: {outcome.state}")


@app.command("publish-shipped")
def publish_shipped(
    repository: Annotated[
        str | None, typer.Option(help="model repository folder or s3://bucket/prefix")
    ] = None,
) -> None:
    """Write the models RadBridge ships into a repository, configs generated from manifests."""
    settings = get_settings()
    target = open_repository(repository or _default_repository(), settings.storage)
    try:
        names = publish_shipped_models(target)
    except AppError as error:  # a shipped manifest does not validate
        raise _fail(error.message, 2 if error.status_code == 422 else 1) from None
    except RepositoryConflict as error:
        raise _fail(str(error)) from None
    typer.echo(f"published to {target.uri}: {', '.join(names)}")


@app.command("list")
def list_versions() -> None:
    """List registered model versions with their state and regulatory status."""
    with session_scope() as session:
        rows = registry.list_versions(session)
        if not rows:
            typer.echo("no model registered yet; add one with `radbridge models add MANIFEST`")
            return
        for row in rows:
            reg = row.regulatory_status + (
                f" {row.nmpa_registration}" if row.nmpa_registration else ""
            )
            check = f"checked {row.check_ms} ms" if row.checked_at else "not checked"
            typer.echo(f"{row.name:24} v{row.version:<5} {row.state:10} {reg:32} {check}")


def _set_state(name: str, version: str, state: str) -> None:
    try:
        with session_scope() as session:
            registry.set_state(session, name=name, version=version, state=state)
    except AppError as error:
        raise _fail(error.message) from None
    typer.echo(f"{name} v{version}: {state}")


Backfill = Annotated[
    int | None,
    typer.Option(
        "--backfill",
        metavar="DAYS",
        min=1,
        help="also route studies of the last DAYS still AI_PENDING or AI_SKIPPED",
    ),
]


def _backfill(days: int | None, tenant: str | None = None) -> None:
    """Route recent waiting/skipped studies again under the registry's new state."""
    if days is None:
        return
    with session_scope() as session:
        tenant_id = registry.tenant_id_for(session, tenant) if tenant else None
        done = reroute.reroute_recent(session, days=days, tenant_id=tenant_id)
    typer.echo(
        f"backfill: {done.studies} waiting/skipped studies of the last {days} days, "
        f"{done.rerouted} routed again, {done.jobs} jobs queued"
    )


@app.command("enable")
def enable(name: str, version: str, backfill: Backfill = None) -> None:
    """Route new studies of subscribed tenants to this version, results shown to readers."""
    _set_state(name, version, "enabled")
    _backfill(backfill)


@app.command("disable")
def disable(name: str, version: str) -> None:
    """Stop routing new studies to this version (earlier results stay)."""
    _set_state(name, version, "disabled")


@app.command("shadow")
def shadow_version(name: str, version: str) -> None:
    """Run this version on new studies, storing results that readers never see."""
    _set_state(name, version, "shadow")


def _subscription(tenant: str, model: str, *, on: bool) -> None:
    try:
        with session_scope() as session:
            tenant_id = registry.tenant_id_for(session, tenant)
            if on:
                registry.subscribe(session, tenant_id=tenant_id, model_name=model)
            else:
                registry.unsubscribe(session, tenant_id=tenant_id, model_name=model)
    except AppError as error:
        raise _fail(error.message) from None
    typer.echo(f"{tenant}: {'subscribed to' if on else 'unsubscribed from'} {model}")


@app.command("subscribe")
def subscribe(tenant: str, model: str, backfill: Backfill = None) -> None:
    """Run every enabled version of MODEL on TENANT's new studies (TENANT is its slug)."""
    _subscription(tenant, model, on=True)
    _backfill(backfill, tenant)


@app.command("unsubscribe")
def unsubscribe(tenant: str, model: str) -> None:
    """Stop running MODEL on TENANT's new studies."""
    _subscription(tenant, model, on=False)
