"""The AI models configured for this deployment, as routing rules."""

from __future__ import annotations

from services.domain.routing import ModelRoute
from services.kit.settings import CoreSettings


def configured_routes(settings: CoreSettings) -> list[ModelRoute]:
    """Return the enabled model versions and the modalities each applies to."""
    return [
        ModelRoute(
            name=m.name, version=m.version, modalities=frozenset(x.upper() for x in m.modalities)
        )
        for m in settings.ai_models
    ]
