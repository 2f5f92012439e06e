"""Routing: which registered model versions run on a new study, each on which series.

A tenant's subscriptions name models; every enabled or shadow version of a subscribed model
whose manifest rules fit some series gets a job on the series its rules choose. The reason
nothing (or not everything) ran is returned so the study can show it.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from services.domain.model_matching import (
    JobPlan,
    MatchRule,
    SeriesView,
    choose_series,
    no_match_reason,
)
from services.domain.routing import ModelRoute, models_for
from services.model_registry import repository
from services.model_registry.manifest import Match
from services.model_registry.service import manifest_of
from services.models import Series


@dataclass(frozen=True)
class RoutingDecision:
    """The jobs to create, and why other models did not apply (empty if all did)."""

    plans: tuple[JobPlan, ...]
    reason: str


def rule_of(match: Match) -> MatchRule:
    """Return the pure matching rule of a manifest's ``match`` section."""
    return MatchRule(
        modalities=tuple(match.modalities),
        body_parts=tuple(match.body_parts),
        sop_classes=tuple(match.sop_classes),
        view_positions=tuple(match.view_positions),
        orientation=match.orientation,
        min_slices=match.min_slices,
        max_slices=match.max_slices,
        series_choice=match.series_choice.value,
    )


def series_views(series: Sequence[Series]) -> list[SeriesView]:
    """Return the routing facts of a study's stored series."""
    return [
        SeriesView(
            series_instance_uid=s.series_instance_uid,
            modality=s.modality,
            instance_count=s.instance_count,
            body_part=s.body_part,
            sop_class_uid=s.sop_class_uid,
            view_position=s.view_position,
            orientation=s.orientation,
            slice_thickness=s.slice_thickness,
            slice_count=s.slice_count,
        )
        for s in series
    ]


def plan_jobs(
    session: Session, *, tenant_id: uuid.UUID, series: Sequence[Series]
) -> RoutingDecision | None:
    """Decide from the registry; None while no model version is registered at all.

    ``None`` lets a deployment that has not registered any model keep its configured routes
    (``ai_models`` setting); once one version is registered, the registry alone decides.
    """
    if not repository.any_version(session):
        return None
    names = [s.model_name for s in repository.subscriptions_of(session, tenant_id)]
    if not names:
        return RoutingDecision((), "no AI model is subscribed for this consortium")
    versions = repository.routable_versions(session, names)
    if not versions:
        return RoutingDecision((), f"no enabled version of {', '.join(sorted(names))}")
    views = series_views(series)
    plans: list[JobPlan] = []
    reasons: list[str] = []
    for version in versions:
        match = manifest_of(version).match
        if match.trigger != "new_study":  # runs when a report with its inputs is signed
            reasons.append(f"{version.name} v{version.version}: runs on signed reports")
            continue
        rule = rule_of(match)
        chosen = choose_series(rule, views)
        if chosen is None:
            reasons.append(f"{version.name} v{version.version}: {no_match_reason(rule, views)}")
            continue
        plans.append(
            JobPlan(
                name=version.name,
                version=version.version,
                series_instance_uid=chosen.series_instance_uid,
                modality=chosen.modality,
                shadow=version.state == "shadow",
            )
        )
    return RoutingDecision(tuple(plans), "; ".join(reasons))


def plans_from_routes(routes: Sequence[ModelRoute], series: Sequence[Series]) -> RoutingDecision:
    """Route by the configured modality list (deployments without registered models)."""
    views = series_views(series)
    plans = []
    for route in models_for([v.modality for v in views], routes):
        chosen = choose_series(MatchRule(modalities=tuple(route.modalities)), views)
        if chosen is not None:
            plans.append(
                JobPlan(route.name, route.version, chosen.series_instance_uid, chosen.modality)
            )
    reason = "" if plans else "no configured AI model takes these modalities"
    return RoutingDecision(tuple(plans), reason)
