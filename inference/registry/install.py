"""``radbridge models add`` as a use case: validate, publish to the repository, register, check.

The steps, each of which stops the whole command with a clear error:
1. the manifest is validated (ManifestError lists every problem);
2. the version's files and a generated ``config.pbtxt`` go into the Triton model repository;
3. the version is registered in the database (state ``registered``);
4. Triton loads it and answers one all-zeros request shaped as the manifest says;
5. only then is it enabled (or put in shadow).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from inference.registry.check import CheckFailed, CheckResult, load_and_check
from inference.registry.repository import RepositoryTarget, publish
from inference.triton.port import InferenceClient
from services.audit import service as audit
from services.kit.db import session_scope
from services.model_registry import service as registry
from services.model_registry.manifest import ManifestError, ModelManifest, load_manifest


@dataclass(frozen=True)
class AddOutcome:
    """What ``add`` did."""

    manifest: ModelManifest
    repository: str
    served_versions: list[str]
    check: CheckResult | None
    state: str


def add(
    manifest_path: Path,
    *,
    target: RepositoryTarget,
    client: InferenceClient | None,
    http_url: str = "",
    state: str = "enabled",
    timeout_s: float = 60.0,
) -> AddOutcome:
    """Add one model version; ``client=None`` skips loading and leaves it ``registered``.

    Raises ManifestError, RepositoryConflict, ManifestChanged, CheckFailed or
    TritonUnavailable; a failed check is recorded on the version, which stays unrouted.
    """
    try:
        manifest = load_manifest(manifest_path)
    except ManifestError as error:
        with session_scope() as session:  # refused manifests leave a trace for the admins
            audit.record(
                session,
                actor=registry.ACTOR,
                action="model.manifest_refused",
                object_type="model_manifest",
                outcome="refused",
                detail={"file": str(manifest_path), "problems": error.problems[:50]},
            )
        raise
    versions = publish(manifest, manifest_path.parent, target)
    with session_scope() as session:
        row = registry.register(session, manifest=manifest, repository_uri=target.uri)
        current = row.state
    if client is None:
        return AddOutcome(manifest, target.uri, versions, None, current)
    try:
        result = load_and_check(client, http_url, manifest, timeout_s=timeout_s)
    except CheckFailed as error:
        with session_scope() as session:
            registry.record_check(
                session,
                name=manifest.name,
                version=manifest.version,
                elapsed_ms=None,
                error=str(error),
            )
        raise
    with session_scope() as session:
        registry.record_check(
            session,
            name=manifest.name,
            version=manifest.version,
            elapsed_ms=result.elapsed_ms,
            error=None,
        )
        if state != "registered":
            current = registry.set_state(
                session, name=manifest.name, version=manifest.version, state=state
            ).state
    return AddOutcome(manifest, target.uri, versions, result, current)
