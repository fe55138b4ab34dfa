"""What other apps may import from planning. Every function is scoped to the given workspace."""

from __future__ import annotations

from .models import Feature


def feature_choices(workspace) -> list[tuple[int, str]]:
    return list(
        Feature.objects.filter(workspace=workspace)
        .exclude(status="dropped")
        .order_by("title")
        .values_list("pk", "title")
    )


def features_by_id(workspace, ids) -> dict[int, Feature]:
    return {f.pk: f for f in Feature.objects.filter(workspace=workspace, pk__in=list(ids))}


def released_features(workspace):
    return Feature.objects.filter(workspace=workspace, status="released").order_by("-released_at")


def features_for_problems(workspace, problem_ids) -> dict[int | None, list[Feature]]:
    """Features grouped by problem id (None: features not yet tied to a problem)."""
    grouped: dict[int | None, list[Feature]] = {}
    query = Feature.objects.filter(workspace=workspace).exclude(status="dropped").order_by("title")
    ids = list(problem_ids)
    for feature in query.filter(problem_id__in=ids) | query.filter(problem=None):
        grouped.setdefault(feature.problem_id, []).append(feature)
    return grouped


def solutions_for_problems(*, workspace, problem_ids) -> dict[int | None, list[Feature]]:
    """Answers discovery's ``discovery.solutions`` point (see ``features_for_problems``)."""
    return features_for_problems(workspace, problem_ids)


def feature_in_workspace(*, workspace, feature_id: int) -> Feature | None:
    """Answers evidence's ``evidence.feature`` point: the feature, or None outside the workspace."""
    return Feature.objects.filter(workspace=workspace, pk=feature_id).first()


def feature_target_choices(*, workspace) -> dict:
    """Answers evidence's ``evidence.target_choices`` point."""
    return {"features": feature_choices(workspace)}
