"""Writes for experiments, metric definitions, decisions and the learning log.

Invariants:
- Every write checks its scope (``PORTFOLIO_WRITE``; after the 404 of another workspace's id), validates its input
  (``validation``; errors name the field), runs in one transaction with its audit record(s), and refuses a stale
  ``expected_version`` (``Conflict``) where people edit the same experiment or metric.
- An experiment's feature, problem, flag, environment and metrics are re-checked to be in the actor's workspace.
  Its variation values, weights, coverage and targeting condition are validated by the flags validation against
  the flag's type, so a draft that saves is one the flags services accept when it starts.
- Status moves draft -> running -> stopped -> decided (running -> decided directly too). What the users see
  (variations, weights, coverage, condition, key, flag, environment) changes only in a draft: changing the split
  of a running experiment would break its analysis.
- The flag changes only through ``flags.facade`` (which calls the flags services): starting creates or updates
  the experiment rule (tracking key = the experiment key); stopping disables it; shipping replaces it by a rule
  forcing the chosen variation's value. Each change is audited and versioned by flags, and in an environment that
  requires approval it is submitted for approval (someone else approves it), never published directly.
- A decision is recorded once per experiment, with a learning in the learning log that becomes evidence on the
  experiment's feature and problem (through ``evidence.facade``).
"""

from __future__ import annotations

import copy
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from valueloop.core.audit import audit_record
from valueloop.core.errors import Conflict, Invalid
from valueloop.core.permissions import Scope
from valueloop.core.services import check_version, create_audited, delete_audited, update_audited
from valueloop.core.tenancy import Actor
from valueloop.discovery.facade import resolve_problem
from valueloop.evidence.facade import learning_link
from valueloop.flags import facade as flags
from valueloop.planning.facade import features_by_id

from . import selectors
from .models import OUTCOMES, Decision, Experiment, ExperimentMetric, Learning, Metric
from .validation import (
    clean_coverage,
    clean_key,
    clean_metric,
    clean_metric_links,
    clean_settings,
    clean_text,
    clean_variations,
    clean_weights,
)

WRITE_SCOPE = Scope.PORTFOLIO_WRITE
EXPERIMENT_FIELDS = [
    "key",
    "name",
    "hypothesis",
    "feature",
    "problem",
    "flag",
    "environment",
    "variations",
    "weights",
    "coverage",
    "condition",
    "hash_attribute",
    "status",
    "planned_start",
    "planned_days",
    "daily_traffic",
    "design",
    "method",
    "alpha",
    "correction",
    "cuped_days",
    "prior_proper",
    "prior_mean",
    "prior_sd",
]
SETTINGS_FIELDS = [
    "method",
    "alpha",
    "correction",
    "cuped_days",
    "prior_proper",
    "prior_mean",
    "prior_sd",
    "planned_start",
    "planned_days",
    "daily_traffic",
]
# What users see: fixed once the experiment runs.
SPLIT_FIELDS = {"key", "flag_id", "environment_id", "variations", "weights", "coverage", "condition", "hash_attribute"}
EDITABLE_FIELDS = {"name", "hypothesis", "feature_id", "problem_id", "metrics", "design", *SETTINGS_FIELDS}
METRIC_FIELDS = [
    "key",
    "name",
    "description",
    "kind",
    "event",
    "aggregation",
    "denominator_event",
    "denominator_aggregation",
    "window_hours",
    "lower_is_better",
]
MAX_DESIGN_KEYS = 30
DECISION_FIELDS = ["experiment", "outcome", "variation", "rollout_environment", "rollout_revision", "rollout_state"]
LEARNING_FIELDS = ["experiment", "decision", "feature", "problem", "text"]


# --- helpers ------------------------------------------------------------------------------------------------------


def _audit(actor: Actor, experiment: Experiment, action: str, changes: dict[str, list[Any]]) -> None:
    audit_record(
        actor=actor.user,
        workspace=actor.workspace,
        via=actor.via,
        entity_type="experiment",
        entity_id=experiment.pk,
        entity_label=experiment.name,
        action=action,
        changes=changes,
    )


def _subject(actor: Actor, feature_id: Any, problem_id: Any) -> tuple[Any, Any]:
    for name, value in (("feature_id", feature_id), ("problem_id", problem_id)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise Invalid(f"{name} must be an id.", fields={name: "An id."})
    feature = None
    if feature_id:
        feature = features_by_id(actor.workspace, [feature_id]).get(feature_id)
        if feature is None:
            raise Invalid("No such feature in this workspace.", fields={"feature_id": "Unknown feature."})
    problem = resolve_problem(actor.workspace, problem_id) if problem_id else None
    if feature is None and problem is None:
        raise Invalid(
            "Link the hypothesis to the feature or the problem it tests, so its learning lands there.",
            fields={"feature_id": "Choose a feature or a problem.", "problem_id": "Choose a feature or a problem."},
        )
    return feature, problem


def _flag_and_environment(actor: Actor, flag_id: Any, environment_id: Any) -> tuple[dict, dict]:
    for name, value in (("flag_id", flag_id), ("environment_id", environment_id)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise Invalid(
                f"Choose the {'flag' if name == 'flag_id' else 'environment'} the experiment runs on.",
                fields={name: "Required."},
            )
    flag = flags.flag_summary(actor.workspace, flag_id)
    if flag is None:
        raise Invalid("No such flag in this workspace.", fields={"flag_id": "Unknown flag."})
    if flag["archived"]:
        raise Invalid(f"The flag {flag['key']} is archived; restore it first.", fields={"flag_id": "Archived."})
    environment = next((e for e in flags.environment_choices(actor.workspace) if e["id"] == environment_id), None)
    if environment is None:
        raise Invalid("No such environment in this workspace.", fields={"environment_id": "Unknown environment."})
    return flag, environment


def _split(value_type: str, data: dict[str, Any]) -> dict[str, Any]:
    """Variations, weights, coverage, condition and hash attribute, checked here and by the flags validation."""
    names, values = clean_variations(data.get("variations"))
    weights = clean_weights(data.get("weights"), len(values))
    coverage = clean_coverage(data.get("coverage", 1.0))
    try:
        rule = flags.clean_experiment_rule(
            value_type,
            {
                "variations": values,
                "variation_names": names,
                "weights": weights,
                "coverage": coverage,
                "condition": data.get("condition") or {},
                "hash_attribute": data.get("hash_attribute") or "id",
            },
            label="Experiment",
        )
    except Invalid as exc:  # drop the flags' rule label ("Experiment (experiment): ...")
        message = exc.message.replace("Experiment (experiment): ", "")
        fields = {k: v.replace("Experiment (experiment): ", "") for k, v in exc.fields.items()}
        raise Invalid(message[:1].upper() + message[1:], fields=fields) from exc
    return {
        "variations": [{"name": n, "value": v} for n, v in zip(names, rule["variations"], strict=True)],
        "weights": rule["weights"],
        "coverage": rule["coverage"],
        "condition": rule["condition"],
        "hash_attribute": rule["hash_attribute"],
    }


def _clean_design(design: Any) -> dict[str, Any]:
    if design in (None, {}):
        return {}
    if not isinstance(design, dict) or len(design) > MAX_DESIGN_KEYS:
        raise Invalid("The design is an object of figures.", fields={"design": "An object."})
    out: dict[str, Any] = {}
    for key, value in design.items():
        if not isinstance(key, str) or len(key) > 40:
            raise Invalid("The design's keys are short names.", fields={"design": "Short keys."})
        if value is not None and not isinstance(value, bool | int | float | str):
            raise Invalid("The design holds numbers, text and true/false only.", fields={"design": "Plain values."})
        if isinstance(value, str):
            value = clean_text(value, field="design", label="The design", limit=200, required=False)
        out[key] = value
    return out


def _metrics(actor: Actor, links: list[tuple[int, str]]) -> dict[int, Metric]:
    found = {m.pk: m for m in Metric.objects.filter(workspace=actor.workspace, pk__in=[m for m, _ in links])}
    for metric_id, _ in links:
        if metric_id not in found:
            raise Invalid(f"There is no metric {metric_id} in this workspace.", fields={"metrics": "Unknown metric."})
        if found[metric_id].archived_at is not None:
            raise Invalid(f"The metric “{found[metric_id].name}” is archived.", fields={"metrics": "Archived."})
    return found


def _set_metrics(experiment: Experiment, links: list[tuple[int, str]]) -> list[list[Any]]:
    before = [[link.metric_id, link.role] for link in selectors.metric_links(experiment)]
    ExperimentMetric.objects.filter(experiment=experiment).delete()
    ExperimentMetric.objects.bulk_create(
        ExperimentMetric(experiment=experiment, metric_id=metric_id, role=role, position=i)
        for i, (metric_id, role) in enumerate(links)
    )
    return before


def _require_status(experiment: Experiment, *allowed: str, doing: str) -> None:
    if experiment.status not in allowed:
        raise Conflict(
            f"“{experiment.name}” is {experiment.get_status_display().lower()}, so it cannot be {doing}.",
            code="wrong_status",
        )


# --- experiments --------------------------------------------------------------------------------------------------


@transaction.atomic
def experiment_create(
    *,
    actor: Actor,
    key: str,
    name: str,
    hypothesis: str,
    flag_id: int,
    environment_id: int,
    variations: list[dict[str, Any]],
    feature_id: int | None = None,
    problem_id: int | None = None,
    weights: list[float] | None = None,
    coverage: float = 1.0,
    condition: dict[str, Any] | None = None,
    hash_attribute: str = "id",
    metrics: list[dict[str, Any]] | None = None,
    design: dict[str, Any] | None = None,
    **settings: Any,
) -> Experiment:
    actor.require(WRITE_SCOPE)
    unknown = set(settings) - set(SETTINGS_FIELDS)
    if unknown:
        raise Invalid(f"Unknown experiment fields: {', '.join(sorted(unknown))}.")
    key = clean_key(key)
    if Experiment.objects.filter(workspace=actor.workspace, key=key).exists():
        raise Invalid(f"An experiment with the key {key!r} already exists.", fields={"key": "Already taken."})
    name = clean_text(name, field="name", label="The name", limit=200)
    hypothesis = clean_text(hypothesis, field="hypothesis", label="The hypothesis", limit=20000)
    feature, problem = _subject(actor, feature_id, problem_id)
    flag, environment = _flag_and_environment(actor, flag_id, environment_id)
    split = _split(
        flag["value_type"],
        {
            "variations": variations,
            "weights": weights,
            "coverage": coverage,
            "condition": condition,
            "hash_attribute": hash_attribute,
        },
    )
    options = clean_settings(settings)
    links = clean_metric_links(metrics)
    _metrics(actor, links)
    experiment = Experiment(
        workspace=actor.workspace,
        key=key,
        name=name,
        hypothesis=hypothesis,
        feature=feature,
        problem=problem,
        flag_id=flag["id"],
        environment_id=environment["id"],
        design=_clean_design(design),
        created_by=actor.user if getattr(actor.user, "pk", None) else None,
        **split,
        **options,
    )
    create_audited(actor, experiment, entity_type="experiment", fields=EXPERIMENT_FIELDS)
    if links:
        _set_metrics(experiment, links)
        _audit(actor, experiment, "metrics_set", {"metrics": [None, [[m, r] for m, r in links]]})
    return experiment


@transaction.atomic
def experiment_update(
    *, actor: Actor, experiment_id: int, expected_version: int | None = None, **changes: Any
) -> Experiment:
    experiment = selectors.access_experiment(actor=actor, id=experiment_id, scope=WRITE_SCOPE, for_update=True)
    unknown = set(changes) - EDITABLE_FIELDS - SPLIT_FIELDS
    if unknown:
        raise Invalid(f"Unknown experiment fields: {', '.join(sorted(unknown))}.")
    check_version(experiment, expected_version)
    frozen = sorted(set(changes) & SPLIT_FIELDS)
    if frozen and experiment.status != "draft":
        raise Invalid(
            f"“{experiment.name}” is {experiment.get_status_display().lower()}: its key, flag, environment, "
            "variations, weights, coverage and targeting are fixed once it runs (changing the split would break "
            "the analysis). Start a new experiment instead.",
            fields={frozen[0]: "Fixed once the experiment has started."},
        )
    updates: dict[str, Any] = {}
    if "key" in changes:
        key = clean_key(changes["key"])
        if key != experiment.key:
            if Experiment.objects.filter(workspace=actor.workspace, key=key).exclude(pk=experiment.pk).exists():
                raise Invalid(f"An experiment with the key {key!r} already exists.", fields={"key": "Already taken."})
            updates["key"] = key
    if "name" in changes:
        updates["name"] = clean_text(changes["name"], field="name", label="The name", limit=200)
    if "hypothesis" in changes:
        updates["hypothesis"] = clean_text(
            changes["hypothesis"], field="hypothesis", label="The hypothesis", limit=20000
        )
    if "feature_id" in changes or "problem_id" in changes:
        feature, problem = _subject(
            actor, changes.get("feature_id", experiment.feature_id), changes.get("problem_id", experiment.problem_id)
        )
        updates["feature"], updates["problem"] = feature, problem
    if {"flag_id", "environment_id", "variations", "weights", "coverage", "condition", "hash_attribute"} & set(changes):
        flag, environment = _flag_and_environment(
            actor, changes.get("flag_id", experiment.flag_id), changes.get("environment_id", experiment.environment_id)
        )
        current = {
            "variations": experiment.variations,
            "weights": experiment.weights,
            "coverage": experiment.coverage,
            "condition": experiment.condition,
            "hash_attribute": experiment.hash_attribute,
        }
        if "variations" in changes and "weights" not in changes:
            current["weights"] = None  # a new set of variations: an equal split unless weights are given
        current.update({k: v for k, v in changes.items() if k in current})
        updates.update(_split(flag["value_type"], current))
        updates["flag_id"], updates["environment_id"] = flag["id"], environment["id"]
    settings = {k: v for k, v in changes.items() if k in SETTINGS_FIELDS}
    if settings:
        settings["_current_method"] = experiment.method
        settings["_current_correction"] = experiment.correction
        updates.update(clean_settings(settings))
    if "design" in changes:
        updates["design"] = _clean_design(changes["design"])
    links = None
    if "metrics" in changes:
        links = clean_metric_links(changes["metrics"])
        _metrics(actor, links)
        if experiment.status != "draft" and not any(r == "primary" for _, r in links):
            raise Invalid(
                "A running experiment keeps its primary metric.", fields={"metrics": "Keep one primary metric."}
            )
    version = experiment.version
    update_audited(actor, experiment, updates, entity_type="experiment", expected_version=None)
    if links is not None:
        before = _set_metrics(experiment, links)
        after = [[m, r] for m, r in links]
        if before != after:
            if experiment.version == version:
                experiment.version += 1
                experiment.save(update_fields=["version", "updated_at"])
            _audit(actor, experiment, "metrics_set", {"metrics": [before, after]})
    return experiment


@transaction.atomic
def experiment_delete(*, actor: Actor, experiment_id: int) -> None:
    """Delete a draft (nothing was served, nothing measured). Started experiments stay: they are history."""
    experiment = selectors.access_experiment(actor=actor, id=experiment_id, scope=WRITE_SCOPE, for_update=True)
    _require_status(experiment, "draft", doing="deleted (stop it and record a decision instead)")
    delete_audited(actor, experiment, entity_type="experiment", fields=["key", "name", "hypothesis"])


def _flag_note(result: dict[str, Any] | None, environment_name: str) -> str:
    if not result:
        return ""
    if result["state"] == "pending_approval":
        return f"Flag change awaiting approval in {environment_name} (revision #{result['revision']})."
    return f"Flag published in {environment_name} (revision #{result['revision']})."


@transaction.atomic
def experiment_start(*, actor: Actor, experiment_id: int, expected_version: int | None = None) -> Experiment:
    """Serve the experiment: its rule goes into the flag (published, or submitted for approval)."""
    experiment = selectors.access_experiment(actor=actor, id=experiment_id, scope=WRITE_SCOPE, for_update=True)
    check_version(experiment, expected_version)
    _require_status(experiment, "draft", doing="started")
    if not experiment.flag_id or not experiment.environment_id:
        raise Invalid("Choose the flag and environment first.", fields={"flag_id": "Required to start."})
    if not ExperimentMetric.objects.filter(experiment=experiment, role="primary").exists():
        raise Invalid(
            "Choose the primary metric before starting: the one the decision will rest on.",
            fields={"metrics": "A primary metric is required to start."},
        )
    result = flags.experiment_rule_set(
        actor=actor,
        flag_id=experiment.flag_id,
        environment_id=experiment.environment_id,
        tracking_key=experiment.key,
        variations=[v["value"] for v in experiment.variations],
        variation_names=experiment.variation_names,
        weights=experiment.weights,
        coverage=experiment.coverage,
        condition=experiment.condition,
        hash_attribute=experiment.hash_attribute,
        description=f"Experiment: {experiment.name}",
    )
    update_audited(
        actor,
        experiment,
        {"status": "running", "started_at": timezone.now(), "stopped_at": None},
        entity_type="experiment",
        expected_version=None,
        action="started",
    )
    _audit(actor, experiment, "flag_changed", {"flag": [None, _flag_note(result, experiment.environment.name)]})
    experiment.flag_result = result
    return experiment


@transaction.atomic
def experiment_stop(
    *, actor: Actor, experiment_id: int, expected_version: int | None = None, end_rule: bool = True
) -> Experiment:
    """Stop collecting data (the analysis ends now) and, by default, stop serving the variations."""
    experiment = selectors.access_experiment(actor=actor, id=experiment_id, scope=WRITE_SCOPE, for_update=True)
    check_version(experiment, expected_version)
    _require_status(experiment, "running", doing="stopped")
    result = None
    if end_rule and experiment.flag_id and experiment.environment_id:
        result = flags.experiment_rule_end(
            actor=actor,
            flag_id=experiment.flag_id,
            environment_id=experiment.environment_id,
            tracking_key=experiment.key,
        )
    update_audited(
        actor,
        experiment,
        {"status": "stopped", "stopped_at": timezone.now()},
        entity_type="experiment",
        expected_version=None,
        action="stopped",
    )
    if result:
        _audit(actor, experiment, "flag_changed", {"flag": [None, _flag_note(result, experiment.environment.name)]})
    experiment.flag_result = result
    return experiment


def _summary(experiment: Experiment) -> dict[str, Any]:
    """The primary metric's read-out at decision time (kept with the decision; empty when there is no data)."""
    try:
        readout = selectors.experiment_readout(experiment)
    except ImportError:  # the events app is not installed: decide without numbers
        return {}
    if readout is None or readout.primary is None or readout.primary.error:
        return {"units": list(readout.units) if readout else []}
    primary = readout.primary
    return {
        "metric": primary.definition.name,
        "units": list(readout.units),
        "method": readout.settings.method,
        "effects": [
            {
                "variation": e.variation,
                "name": e.name,
                "relative": e.relative.estimate,
                "ci_low": e.relative.ci_low,
                "ci_high": e.relative.ci_high,
                "p_value": e.relative.adjusted_p_value
                if e.relative.adjusted_p_value is not None
                else e.relative.p_value,
                "chance_to_win": e.relative.chance_to_win,
                "verdict": e.verdict,
            }
            for e in primary.effects
        ],
        "srm_warning": bool(readout.srm and readout.srm.warning),
    }


@transaction.atomic
def experiment_decide(
    *,
    actor: Actor,
    experiment_id: int,
    outcome: str,
    learning: str,
    variation: int | None = None,
    rollout: bool = False,
    rollout_environment_id: int | None = None,
    expected_version: int | None = None,
) -> Decision:
    """Record the decision and its learning (which becomes evidence on the feature and problem). Shipping with
    ``rollout`` serves the chosen variation's value through the flag in the experiment's environment (or the one
    given, e.g. production), pending approval where that environment requires it; otherwise a running experiment's
    rule is disabled (everyone gets what the flag served before)."""
    experiment = selectors.access_experiment(actor=actor, id=experiment_id, scope=WRITE_SCOPE, for_update=True)
    check_version(experiment, expected_version)
    if Decision.objects.filter(experiment=experiment).exists():
        raise Conflict(f"“{experiment.name}” already has a decision.", code="already_decided")
    _require_status(experiment, "running", "stopped", doing="decided (start it first)")
    if outcome not in dict(OUTCOMES):
        raise Invalid("The decision is ship, iterate or stop.", fields={"outcome": "ship, iterate or stop."})
    text = clean_text(learning, field="learning", label="The learning", limit=20000)
    if not isinstance(rollout, bool):
        raise Invalid("rollout must be true or false.", fields={"rollout": "true or false."})
    names = experiment.variation_names
    if outcome == "ship":
        if isinstance(variation, bool) or not isinstance(variation, int) or not 0 <= variation < len(names):
            raise Invalid(
                "Choose the variation to ship.",
                fields={"variation": f"One of the {len(names)} variations (0 is {names[0]})."},
            )
    else:
        if variation is not None and (
            isinstance(variation, bool) or not isinstance(variation, int) or not 0 <= variation < len(names)
        ):
            raise Invalid("No such variation.", fields={"variation": f"0 to {len(names) - 1}, or none."})
        if rollout:
            raise Invalid("Only a decision to ship rolls a variation out.", fields={"rollout": "Only when shipping."})
    environment = None
    if rollout:
        wanted = rollout_environment_id or experiment.environment_id
        choices = {e["id"]: e for e in flags.environment_choices(actor.workspace)}
        if isinstance(wanted, bool) or not isinstance(wanted, int) or wanted not in choices:
            raise Invalid("No such environment in this workspace.", fields={"rollout_environment_id": "Unknown."})
        allowed = {experiment.environment_id} | {e["id"] for e in choices.values() if e["key"] == "production"}
        if wanted not in allowed:
            raise Invalid(
                "Roll out in the experiment's environment or in production.",
                fields={"rollout_environment_id": "The experiment's environment or production."},
            )
        if not experiment.flag_id:
            raise Invalid("The experiment has no flag to roll out.", fields={"rollout": "No flag."})
        environment = choices[wanted]
    summary = _summary(experiment)
    decision = Decision(
        workspace=actor.workspace,
        experiment=experiment,
        outcome=outcome,
        variation=variation,
        summary=summary,
        author=actor.user if getattr(actor.user, "pk", None) else None,
    )
    flag_result = None
    running = experiment.status == "running"
    if environment is not None:
        value = experiment.variations[variation]["value"]  # type: ignore[index]
        flag_result = flags.experiment_rollout(
            actor=actor,
            flag_id=experiment.flag_id,  # type: ignore[arg-type]
            environment_id=environment["id"],
            tracking_key=experiment.key,
            value=copy.deepcopy(value),
            condition=experiment.condition,
            note=f"Ship {names[variation]} (experiment {experiment.key})",  # type: ignore[index]
        )
        decision.rollout_environment_id = environment["id"]
        decision.rollout_revision = flag_result.get("revision")
        decision.rollout_state = flag_result.get("state", "")
    if (
        running
        and experiment.flag_id
        and experiment.environment_id
        and (environment is None or environment["id"] != experiment.environment_id)
    ):
        flags.experiment_rule_end(
            actor=actor,
            flag_id=experiment.flag_id,
            environment_id=experiment.environment_id,
            tracking_key=experiment.key,
        )
    try:
        with transaction.atomic():
            create_audited(
                actor,
                decision,
                entity_type="experiment_decision",
                fields=[
                    "experiment",
                    "outcome",
                    "variation",
                    "rollout_environment",
                    "rollout_revision",
                    "rollout_state",
                ],
            )
    except IntegrityError as exc:  # a concurrent decision won
        raise Conflict(f"“{experiment.name}” already has a decision.", code="already_decided") from exc
    entry = Learning(
        workspace=actor.workspace,
        experiment=experiment,
        decision=decision,
        feature_id=experiment.feature_id,
        problem_id=experiment.problem_id,
        text=text,
        created_by=decision.author,
    )
    create_audited(
        actor, entry, entity_type="learning", fields=["experiment", "decision", "feature", "problem", "text"]
    )
    for target_type, target_id in (("feature", experiment.feature_id), ("problem", experiment.problem_id)):
        if target_id:
            learning_link(actor=actor, learning=entry, target_type=target_type, target_id=target_id)
    update_audited(
        actor,
        experiment,
        {"status": "decided", "stopped_at": experiment.stopped_at or timezone.now()},
        entity_type="experiment",
        expected_version=None,
        action="decided",
    )
    _audit(
        actor,
        experiment,
        "decision_recorded",
        {
            "outcome": [None, outcome],
            "variation": [None, names[variation] if variation is not None else None],
            "flag": [None, _flag_note(flag_result, environment["name"]) if environment else None],
        },
    )
    decision.flag_result = flag_result
    return decision


# --- metrics ------------------------------------------------------------------------------------------------------


@transaction.atomic
def metric_create(*, actor: Actor, key: str, **data: Any) -> Metric:
    actor.require(WRITE_SCOPE)
    unknown = set(data) - set(METRIC_FIELDS)
    if unknown:
        raise Invalid(f"Unknown metric fields: {', '.join(sorted(unknown))}.")
    key = clean_key(key, what="metric")
    clean = clean_metric(data)
    if Metric.objects.filter(workspace=actor.workspace, key=key).exists():
        raise Invalid(f"A metric with the key {key!r} already exists.", fields={"key": "Already taken."})
    metric = Metric(
        workspace=actor.workspace,
        key=key,
        created_by=actor.user if getattr(actor.user, "pk", None) else None,
        **clean,
    )
    return create_audited(actor, metric, entity_type="metric", fields=METRIC_FIELDS)


def _metric_in_use(metric: Metric, statuses: tuple[str, ...]) -> list[str]:
    return list(
        ExperimentMetric.objects.filter(metric=metric, experiment__status__in=statuses)
        .order_by("experiment__name")
        .values_list("experiment__name", flat=True)[:6]
    )


@transaction.atomic
def metric_update(*, actor: Actor, metric_id: int, expected_version: int | None = None, **changes: Any) -> Metric:
    metric = selectors.access_metric(actor=actor, id=metric_id, scope=WRITE_SCOPE, for_update=True)
    unknown = set(changes) - set(METRIC_FIELDS[1:]) - {"archived"}
    if "key" in changes:
        raise Invalid("A metric's key cannot change.", fields={"key": "Cannot change."})
    if unknown:
        raise Invalid(f"Unknown metric fields: {', '.join(sorted(unknown))}.")
    check_version(metric, expected_version)
    archived = changes.pop("archived", None)
    if archived is not None and not isinstance(archived, bool):
        raise Invalid("archived must be true or false.", fields={"archived": "true or false."})
    current = {name: getattr(metric, name) for name in METRIC_FIELDS[1:]}
    clean = clean_metric({**current, **changes})
    definition_changed = any(clean[k] != current[k] for k in ("kind", "event", "aggregation", "denominator_event"))
    if definition_changed:
        running = _metric_in_use(metric, ("running", "stopped"))
        if running:
            raise Conflict(
                f"“{metric.name}” is read by running experiments ({', '.join(running)}); changing what it counts "
                "would change their results. Create a new metric instead.",
                code="in_use",
            )
    action = "updated"
    if archived is True and metric.archived_at is None:
        clean["archived_at"], action = timezone.now(), "archived"
    elif archived is False and metric.archived_at is not None:
        clean["archived_at"], action = None, "restored"
    return update_audited(actor, metric, clean, entity_type="metric", expected_version=None, action=action)  # type: ignore[return-value]


@transaction.atomic
def metric_delete(*, actor: Actor, metric_id: int) -> None:
    metric = selectors.access_metric(actor=actor, id=metric_id, scope=WRITE_SCOPE, for_update=True)
    users = _metric_in_use(metric, ("draft", "running", "stopped", "decided"))
    if users:
        raise Conflict(
            f"“{metric.name}” is used by {', '.join(users)}; archive it instead (experiments keep their metrics).",
            code="in_use",
        )
    pk, label = metric.pk, metric.name
    before = {name: getattr(metric, name) for name in METRIC_FIELDS}
    metric.delete()
    audit_record(
        actor=actor.user,
        workspace=actor.workspace,
        via=actor.via,
        entity_type="metric",
        entity_id=pk,
        entity_label=label,
        action="deleted",
        changes={k: [v, None] for k, v in before.items()},
    )
