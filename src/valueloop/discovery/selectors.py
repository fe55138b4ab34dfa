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
