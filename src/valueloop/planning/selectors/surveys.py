"""Survey results: Kano classifications per feature and outcome (opportunity) scores per problem.

Invariants: Kano answers are tallied in one grouped query and classified with the engine's evaluation table;
problems come through the discovery facade, scoped to the workspace (another workspace's problem is a 404).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count

from valueloop.core.errors import NotFound
from valueloop.core.permissions import Scope
from valueloop.engines import prioritisation as prio

from ..models import (
    Feature,
    KanoResponse,
    OutcomeScore,
)


def kano_by_feature(workspace) -> dict[int, prio.KanoResult]:
    tallies: dict[int, dict[prio.KanoCategory, int]] = {}
    pairs = (
        KanoResponse.objects.filter(workspace=workspace)
        .values_list("feature_id", "functional", "dysfunctional")
        .annotate(n=Count("id"))
        .order_by()
    )
    for feature_id, functional, dysfunctional, n in pairs:
        category = prio.kano_classify(functional, dysfunctional)
        counts = tallies.setdefault(feature_id, dict.fromkeys(prio.KanoCategory, 0))
        counts[category] += n
    return {fid: prio.kano_summary_from_counts(counts, item_id=fid) for fid, counts in tallies.items()}


@dataclass
class KanoRow:
    feature_id: int
    title: str
    result: prio.KanoResult

    @property
    def counts(self) -> list[tuple[str, int]]:
        return [(c.value, self.result.counts.get(c, 0)) for c in prio.KanoCategory]


KANO_LABELS = {
    "A": "Attractive",
    "O": "One-dimensional",
    "M": "Must-be",
    "I": "Indifferent",
    "R": "Reverse",
    "Q": "Questionable",
}


def kano_results(*, actor) -> list[KanoRow]:
    actor.require(Scope.WORKSPACE_READ)
    results = kano_by_feature(actor.workspace)
    titles = dict(Feature.objects.filter(workspace=actor.workspace, pk__in=list(results)).values_list("pk", "title"))
    rows = [KanoRow(fid, titles.get(fid, ""), result) for fid, result in results.items()]
    order = {c: k for k, c in enumerate("MOAIRQ")}
    return sorted(rows, key=lambda r: (order[r.result.dominant.value], -(r.result.better or 0), r.title.lower()))


def access_problem(*, actor, id: int):
    from valueloop.discovery.facade import problems_by_id

    problem = problems_by_id(actor.workspace, [id]).get(id)
    if problem is None:
        raise NotFound("Problem not found.")
    actor.require(Scope.WORKSPACE_READ)
    return problem


def outcome_get(*, actor, problem_id: int) -> dict:
    problem = access_problem(actor=actor, id=problem_id)
    outcome = OutcomeScore.objects.filter(workspace=actor.workspace, problem_id=problem.pk).first()
    return _outcome_out(problem, outcome)


def _outcome_out(problem, outcome: OutcomeScore | None) -> dict:
    result = None
    if outcome is not None:
        result = prio.opportunity(outcome.importance, outcome.satisfaction, item_id=problem.pk)
    return {
        "problem_id": problem.pk,
        "title": problem.title,
        "importance": outcome.importance if outcome else None,
        "satisfaction": outcome.satisfaction if outcome else None,
        "respondents": outcome.respondents if outcome else None,
        "score": result.score if result else None,
        "band": result.band.value if result else None,
        "underserved": result.underserved if result else None,
        "overserved": result.overserved if result else None,
        "version": outcome.version if outcome else 0,
    }


def outcome_list(*, actor) -> list[dict]:
    from valueloop.discovery.facade import problem_choices, problems_by_id

    actor.require(Scope.WORKSPACE_READ)
    ids = [pid for pid, _ in problem_choices(actor.workspace)]
    problems = problems_by_id(actor.workspace, ids)
    outcomes = {o.problem_id: o for o in OutcomeScore.objects.filter(workspace=actor.workspace)}
    rows = [_outcome_out(problems[pid], outcomes.get(pid)) for pid in ids if pid in problems]
    return sorted(rows, key=lambda r: (r["score"] is None, -(r["score"] or 0), r["title"].lower()))
