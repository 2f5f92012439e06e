"""API shape of a consortium's priority weights; bounds come from ``priority.WEIGHT_RANGES``."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from services.domain.priority import WEIGHT_RANGES, PriorityWeights


def _weight(name: str) -> Any:
    low, high = WEIGHT_RANGES[name]
    return Field(ge=low, le=high, description=f"points, {low}..{high}")


class WeightsBody(BaseModel):
    """Points per priority factor; every weight is required (PUT replaces them all)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    critical: Annotated[int, _weight("critical")]
    significant: Annotated[int, _weight("significant")]
    normal: Annotated[int, _weight("normal")]
    no_ai: Annotated[int, _weight("no_ai")]
    stat: Annotated[int, _weight("stat")]
    urgent: Annotated[int, _weight("urgent")]
    overdue: Annotated[int, _weight("overdue")]
    due_soon: Annotated[int, _weight("due_soon")]
    pediatric: Annotated[int, _weight("pediatric")]

    def to_domain(self) -> PriorityWeights:
        """Return the weights as the domain dataclass."""
        return PriorityWeights(**self.model_dump())

    @classmethod
    def of(cls, weights: PriorityWeights) -> WeightsBody:
        """Return the API shape of domain weights."""
        return cls(**{name: getattr(weights, name) for name in PriorityWeights.names()})
