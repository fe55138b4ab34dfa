"""Reads of single planning records: features, the workspace's planning settings, score history, saved
formulas and delivery items.

Invariants: every query starts from ``actor.workspace``; ``access_<entity>`` answers 404 for another workspace's id
before it checks the role (403); the planning settings read never writes (unsaved defaults until someone saves).
"""

from __future__ import annotations

import datetime as dt
import zoneinfo

from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from valueloop.core.entities import EntityRef
from valueloop.core.errors import NotFound
from valueloop.core.permissions import Scope
from valueloop.core.selectors import access_row

from ..models import (
    DeliveryItem,
    Feature,
    PlanningSettings,
    ScoreChange,
    ScoringFormula,
)


def feature_ref(workspace, entity_id: int) -> EntityRef | None:
    feature = Feature.objects.filter(workspace=workspace, pk=entity_id).only("title").first()
    if feature is None:
        return None
    return EntityRef(
        "feature", feature.pk, feature.title, reverse("planning:feature_detail", args=[workspace.slug, feature.pk])
    )


def feature_list(
    *, actor, search: str = "", status: str = "", product_id: int | None = None, problem_id: int | None = None
):
    actor.require(Scope.WORKSPACE_READ)
    query = Feature.objects.filter(workspace=actor.workspace).select_related("product", "area", "problem", "owner")
    if search:
        query = query.filter(Q(title__icontains=search) | Q(description__icontains=search))
    if status:
        query = query.filter(status=status)
    if product_id:
        query = query.filter(product_id=product_id)
    if problem_id:
        query = query.filter(problem_id=problem_id)
    return query.order_by("title", "id")


def access_feature(*, actor, id: int, scope=None, for_update: bool = False) -> Feature:
    query = Feature.objects.filter(workspace=actor.workspace, pk=id).select_related("product", "area", "problem")
    if for_update:
        query = query.select_for_update(of=("self",))  # lock our row only, not outer-joined ones
    feature = query.first()
    if feature is None:
        raise NotFound("Feature not found.")
    actor.require(scope or Scope.WORKSPACE_READ)
    return feature


def today_for(workspace) -> dt.date:
    try:
        zone = zoneinfo.ZoneInfo(workspace.timezone or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        zone = dt.UTC
    return timezone.localdate(timezone=zone)


def settings_get(*, actor) -> PlanningSettings:
    """The workspace's planning settings (defaults, unsaved, until someone changes them)."""
    actor.require(Scope.WORKSPACE_READ)
    found = PlanningSettings.objects.filter(workspace=actor.workspace).first()
    return found or PlanningSettings(workspace=actor.workspace)


def score_history(*, actor, feature_id: int):
    feature = access_feature(actor=actor, id=feature_id)
    return (
        ScoreChange.objects.filter(workspace=actor.workspace, feature=feature)
        .select_related("actor")
        .order_by("-at", "-id")
    )


def formula_list(*, actor):
    actor.require(Scope.WORKSPACE_READ)
    return ScoringFormula.objects.filter(workspace=actor.workspace).order_by("name", "id")


def access_formula(*, actor, id: int, scope=None, for_update: bool = False) -> ScoringFormula:
    return access_row(
        ScoringFormula, actor=actor, id=id, scope=scope, for_update=for_update, not_found="Formula not found."
    )


def delivery_item_list(*, actor, feature_id: int):
    feature = access_feature(actor=actor, id=feature_id)
    return DeliveryItem.objects.filter(workspace=actor.workspace, feature=feature).order_by("created_at", "id")


def access_delivery_item(*, actor, id: int, scope=None, for_update: bool = False) -> DeliveryItem:
    return access_row(
        DeliveryItem, actor=actor, id=id, scope=scope, for_update=for_update, not_found="Delivery item not found."
    )
