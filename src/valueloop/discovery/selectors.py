"""Reads for problems (opportunities). Every query starts from the actor's workspace."""

from __future__ import annotations

from django.urls import reverse

from valueloop.core.entities import EntityRef

from .models import Problem


def problem_ref(workspace, entity_id: int) -> EntityRef | None:
    problem = Problem.objects.filter(workspace=workspace, pk=entity_id).only("title").first()
    if problem is None:
        return None
    return EntityRef(
        "problem", problem.pk, problem.title, reverse("discovery:problem_detail", args=[workspace.slug, problem.pk])
    )


def problem_list(*, actor, search: str = "", status: str = "", product_id: int | None = None):
    from django.db.models import Count, Q

    from valueloop.core.permissions import Scope

    actor.require(Scope.WORKSPACE_READ)
    query = Problem.objects.filter(workspace=actor.workspace).select_related("product", "area", "owner")
    if search:
        query = query.filter(Q(title__icontains=search) | Q(description__icontains=search))
    if status:
        query = query.filter(status=status)
    if product_id:
        query = query.filter(product_id=product_id)
    return query.annotate(feature_count=Count("features")).order_by("title", "id")


def access_problem(*, actor, id: int, scope=None, for_update: bool = False) -> Problem:
    from valueloop.core.errors import NotFound
    from valueloop.core.permissions import Scope

    query = Problem.objects.filter(workspace=actor.workspace, pk=id).select_related("product", "area", "owner")
    if for_update:
        query = query.select_for_update(of=("self",))  # lock our row only, not outer-joined ones
    problem = query.first()
    if problem is None:
        raise NotFound("Problem not found.")
    actor.require(scope or Scope.WORKSPACE_READ)
    return problem
