"""Reads for experiments, metrics and the learning log. Every query starts from the actor's workspace; an id of
another workspace is NotFound (404) before any role check (403)."""

from __future__ import annotations

from django.db.models import Prefetch, Q, QuerySet
from django.urls import reverse

from valueloop.core.entities import EntityRef
from valueloop.core.errors import NotFound
from valueloop.core.permissions import Scope
from valueloop.core.selectors import access_row
from valueloop.core.tenancy import Actor

from .models import STATUSES, Experiment, ExperimentMetric, Learning, Metric

STATUS_KEYS = {value for value, _ in STATUSES}


def experiment_ref(workspace, entity_id: int) -> EntityRef | None:
    experiment = Experiment.objects.filter(workspace=workspace, pk=entity_id).only("name").first()
    if experiment is None:
        return None
    return EntityRef(
        "experiment",
        experiment.pk,
        experiment.name,
        reverse("experiments:experiment_detail", args=[workspace.slug, experiment.pk]),
    )


def _links() -> Prefetch:
    return Prefetch("metric_links", queryset=ExperimentMetric.objects.select_related("metric").order_by("position"))


def experiment_list(
    *, actor: Actor, status: str = "", search: str = "", feature_id: int | None = None
) -> QuerySet[Experiment]:
    actor.require(Scope.WORKSPACE_READ)
    query = Experiment.objects.filter(workspace=actor.workspace)
    if status in STATUS_KEYS:
        query = query.filter(status=status)
    if search:
        query = query.filter(Q(name__icontains=search) | Q(key__icontains=search) | Q(hypothesis__icontains=search))
    if feature_id:
        query = query.filter(feature_id=feature_id)
    return query.select_related("feature", "problem", "flag", "environment", "decision").prefetch_related(_links())


def access_experiment(*, actor: Actor, id: int, scope: Scope | None = None, for_update: bool = False) -> Experiment:
    query = Experiment.objects.filter(workspace=actor.workspace, pk=id)
    if for_update:
        query = query.select_for_update(of=("self",))
    experiment = query.select_related("feature", "problem", "flag", "environment", "created_by").first()
    if experiment is None:
        raise NotFound("Experiment not found.")
    actor.require(scope or Scope.WORKSPACE_READ)
    return experiment


def experiment_detail(*, actor: Actor, id: int) -> Experiment:
    access_experiment(actor=actor, id=id)
    return (
        Experiment.objects.filter(workspace=actor.workspace, pk=id)
        .select_related("feature", "problem", "flag", "environment", "created_by", "decision__rollout_environment")
        .prefetch_related(_links())
        .get()
    )


def metric_links(experiment: Experiment) -> list[ExperimentMetric]:
    """The experiment's metrics, primary first, then secondary, then guardrails (each in the order given)."""
    order = {"primary": 0, "secondary": 1, "guardrail": 2}
    links = list(experiment.metric_links.all())
    return sorted(links, key=lambda link: (order.get(link.role, 3), link.position, link.pk))


def metric_list(*, actor: Actor, search: str = "", archived: bool = False) -> QuerySet[Metric]:
    actor.require(Scope.WORKSPACE_READ)
    query = Metric.objects.filter(workspace=actor.workspace)
    query = query.exclude(archived_at=None) if archived else query.filter(archived_at=None)
    if search:
        query = query.filter(Q(name__icontains=search) | Q(key__icontains=search) | Q(event__icontains=search))
    return query.order_by("name", "id")


def access_metric(*, actor: Actor, id: int, scope: Scope | None = None, for_update: bool = False) -> Metric:
    return access_row(Metric, actor=actor, id=id, scope=scope, for_update=for_update, not_found="Metric not found.")


def metric_choices(workspace) -> list[Metric]:
    return list(Metric.objects.filter(workspace=workspace, archived_at=None).order_by("name", "id"))


def learning_list(
    *,
    actor: Actor,
    search: str = "",
    feature_id: int | None = None,
    problem_id: int | None = None,
    outcome: str = "",
) -> QuerySet[Learning]:
    actor.require(Scope.WORKSPACE_READ)
    query = Learning.objects.filter(workspace=actor.workspace)
    if search:
        query = query.filter(
            Q(text__icontains=search)
            | Q(experiment__name__icontains=search)
            | Q(experiment__hypothesis__icontains=search)
            | Q(feature__title__icontains=search)
            | Q(problem__title__icontains=search)
        )
    if feature_id:
        query = query.filter(feature_id=feature_id)
    if problem_id:
        query = query.filter(problem_id=problem_id)
    if outcome in ("ship", "iterate", "stop"):
        query = query.filter(decision__outcome=outcome)
    return query.select_related("experiment", "feature", "problem", "decision", "created_by").order_by(
        "-created_at", "-id"
    )


def access_learning(*, actor: Actor, id: int) -> Learning:
    learning = (
        Learning.objects.filter(workspace=actor.workspace, pk=id)
        .select_related("experiment", "feature", "problem", "decision", "created_by")
        .first()
    )
    if learning is None:
        raise NotFound("Learning not found.")
    actor.require(Scope.WORKSPACE_READ)
    return learning


# --- results ------------------------------------------------------------------------------------------------------


def metric_defs(experiment: Experiment) -> list:
    from .analysis import MetricDef

    return [
        MetricDef(
            key=f"m{link.metric_id}",
            metric_id=link.metric_id,
            name=link.metric.name,
            role=link.role,
            kind=link.metric.kind,
            lower_is_better=link.metric.lower_is_better,
        )
        for link in metric_links(experiment)
    ]


def analysis_settings(experiment: Experiment):
    from .analysis import Settings

    planned = (experiment.design or {}).get("n_per_variation")
    return Settings(
        variation_names=tuple(experiment.variation_names),
        weights=tuple(float(w) for w in experiment.weights),
        method=experiment.method,
        alpha=experiment.alpha,
        correction=experiment.correction,
        cuped=experiment.cuped_days > 0,
        prior_proper=experiment.prior_proper,
        prior_mean=experiment.prior_mean,
        prior_sd=experiment.prior_sd,
        planned_n=float(planned) * 2 if isinstance(planned, int | float) and planned > 0 else None,
    )


def metric_specs(experiment: Experiment) -> list:
    """What the events facade aggregates for this experiment: one spec per metric, keyed ``m<metric id>``."""
    from valueloop.events.facade import MetricSpec

    return [
        MetricSpec(
            key=f"m{link.metric_id}",
            kind=link.metric.kind,
            event=link.metric.event,
            aggregation=link.metric.aggregation,
            denominator_event=link.metric.denominator_event or None,
            denominator_aggregation=link.metric.denominator_aggregation,
            window_hours=link.metric.window_hours,
            cuped_days=experiment.cuped_days,
        )
        for link in metric_links(experiment)
    ]


def experiment_data(experiment: Experiment):
    """The exposures and metric sums of the experiment up to its stop (or now). Every exposure carrying the key
    counts, also those sent before the experiment was started here (its flag rule may have been live already):
    the key is unique in the workspace, so they are this experiment's."""
    from valueloop.events.facade import experiment_data as load

    return load(
        experiment.workspace_id,
        experiment.key,
        variations=len(experiment.variations),
        metrics=metric_specs(experiment),
        start=None,
        end=experiment.stopped_at,
    )


def experiment_readout(experiment: Experiment):
    """The analysed results (``analysis.Readout``), or None when no unit has been exposed yet."""
    from .analysis import analyse_experiment

    data = experiment_data(experiment)
    if sum(data.units) == 0:
        return None
    return analyse_experiment(data, metric_defs(experiment), analysis_settings(experiment))


def experiment_results(*, actor: Actor, id: int):
    """(experiment, readout or None) for the results page and API."""
    experiment = experiment_detail(actor=actor, id=id)
    return experiment, experiment_readout(experiment)


def learning_search_describe(actor: Actor, ids: list[int]) -> dict[int, tuple[str, str]]:
    """Learnings open on the experiment that taught them."""
    rows = Learning.objects.filter(workspace=actor.workspace, id__in=ids).values_list(
        "id", "experiment_id", "experiment__name"
    )
    slug = actor.workspace.slug
    return {
        learning_id: (reverse("experiments:experiment_detail", args=[slug, experiment_id]), f"from {name}")
        for learning_id, experiment_id, name in rows
    }
