"""Reads for features. Every query starts from the actor's workspace."""

from __future__ import annotations

from django.urls import reverse

from valueloop.core.entities import EntityRef

from .models import Feature


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
    from django.db.models import Q

    from valueloop.core.permissions import Scope

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
    from valueloop.core.errors import NotFound
    from valueloop.core.permissions import Scope

    query = Feature.objects.filter(workspace=actor.workspace, pk=id).select_related("product", "area", "problem")
    if for_update:
        query = query.select_for_update(of=("self",))  # lock our row only, not outer-joined ones
    feature = query.first()
    if feature is None:
        raise NotFound("Feature not found.")
    actor.require(scope or Scope.WORKSPACE_READ)
    return feature
