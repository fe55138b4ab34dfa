"""What other apps may import from discovery. Every function is scoped to the given workspace."""

from __future__ import annotations

from valueloop.core.errors import Invalid

from .models import Problem


def resolve_problem(workspace, problem_id: int | None) -> Problem | None:
    if not problem_id:
        return None
    problem = Problem.objects.filter(workspace=workspace, pk=problem_id).first()
    if problem is None:
        raise Invalid("No such problem in this workspace.", fields={"problem_id": "Unknown problem."})
    return problem


def problem_choices(workspace) -> list[tuple[int, str]]:
    return list(
        Problem.objects.filter(workspace=workspace)
        .exclude(status="parked")
        .order_by("title")
        .values_list("pk", "title")
    )


def problems_by_id(workspace, ids) -> dict[int, Problem]:
    return {p.pk: p for p in Problem.objects.filter(workspace=workspace, pk__in=list(ids))}


# --- used by themes ---


def problem_create(*, actor, title: str, description: str = "") -> Problem:
    """Create a problem (opportunity) as ``services.problem_create`` does: scope-checked, validated, audited."""
    from . import services

    return services.problem_create(actor=actor, title=title, description=description)


def access_problem(*, actor, id: int, scope=None) -> Problem:
    """The problem in the actor's workspace (NotFound otherwise), checked for ``scope`` when given."""
    from . import selectors

    return selectors.access_problem(actor=actor, id=id, scope=scope)


def problem_target_choices(*, workspace) -> dict:
    """Answers evidence's ``evidence.target_choices`` point."""
    return {"problems": problem_choices(workspace)}
