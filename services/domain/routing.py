"""Which AI models apply to a study (the foundation's rule: by modality)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class ModelRoute:
    """A model version and the modalities it is certified (or configured) for."""

    name: str
    version: str
    modalities: frozenset[str]


def models_for(modalities: Iterable[str], routes: Sequence[ModelRoute]) -> list[ModelRoute]:
    """Return the routes whose modalities intersect the study's, in configured order."""
    present = {m.upper() for m in modalities}
    return [route for route in routes if route.modalities & present]
