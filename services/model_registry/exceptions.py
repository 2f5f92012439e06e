"""Errors of the model registry, each with the status and sentence a person needs."""

from __future__ import annotations

from services.kit.errors import Conflict, NotFound


class ModelVersionNotFound(NotFound):
    """No such model version is registered."""

    code = "model_version_not_found"


class SubscriptionNotFound(NotFound):
    """No such subscription in the caller's tenant."""

    code = "subscription_not_found"


class ManifestChanged(Conflict):
    """A registered version's manifest may not change once it has run; bump the version."""

    code = "manifest_changed"


class IllegalModelState(Conflict):
    """The requested state change is not allowed (e.g. enabling an unchecked version)."""

    code = "illegal_model_state"
