"""What other apps may import from experiments. Every function is scoped to the workspace it is given.

Invariants: reads only; the learning log is written by ``services.experiment_decide`` and nothing else.
"""

from __future__ import annotations

from .models import Experiment, Learning


def experiment_keys(workspace) -> set[str]:
    """Keys of the workspace's experiments (the tracking keys their exposures carry)."""
    return set(Experiment.objects.filter(workspace=workspace).values_list("key", flat=True))


def learnings_for(workspace, *, feature_id: int | None = None, problem_id: int | None = None) -> list[Learning]:
    """The learning-log entries about a feature or a problem, newest first."""
    query = Learning.objects.filter(workspace=workspace).select_related("experiment", "decision")
    if feature_id:
        query = query.filter(feature_id=feature_id)
    if problem_id:
        query = query.filter(problem_id=problem_id)
    return list(query.order_by("-created_at", "-id")[:50])
